#!/usr/bin/env python3
"""Fails when a Swift Testing @Test function asserts nothing (no #expect, #require, Issue.record or
a helper whose name starts with expect/check/assert): such a test cannot fail. Also fails when the
library calls precondition or preconditionFailure, whose messages release builds drop (use
require(_:_:) or fatalError)."""
import glob, re, sys

bad = []
for path in sorted(glob.glob('Tests/**/*.swift', recursive=True)):
    text = open(path, encoding='utf-8').read()
    for m in re.finditer(r'@Test(?:\((?:[^()]|\([^()]*\))*\))?\s*func (\w+)\([^)]*\)[^{]*\{', text):
        i, depth = m.end(), 1
        while depth and i < len(text):
            depth += {'{': 1, '}': -1}.get(text[i], 0)
            i += 1
        if not re.search(r'#expect|#require|Issue\.record|\b(expect|check|assert)\w*\(', text[m.end():i]):
            bad.append(f'{path}: {m.group(1)}')
silent = []
for path in sorted(glob.glob('Sources/**/*.swift', recursive=True)):
    for n, line in enumerate(open(path, encoding='utf-8'), 1):
        code = line.split('//')[0]
        if re.search(r'\bprecondition(Failure)?\(', code):
            silent.append(f'{path}:{n}')
if bad:
    print('tests without an assertion:\n  ' + '\n  '.join(bad))
if silent:
    print('precondition in the library (its message is lost in release builds; use require):\n  ' + '\n  '.join(silent))
if bad or silent:
    sys.exit(1)
print('every test asserts something; the library uses no precondition')
