import MyelinCore
// SVG pictures of training: see the Plot files.
