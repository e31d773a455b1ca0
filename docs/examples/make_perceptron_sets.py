"""Writes the two 2-D sets of the perceptron example in the README (run from this folder).

separable.csv: 80 points on either side of the line x1 + 0.5 x2 = 0.3 with a margin of 0.4.
xor.csv: points of the square [-1, 1]^2 labelled by whether x1 and x2 have the same sign, which
no line separates.
"""
import random

random.seed(3)
with open('separable.csv', 'w') as f:
    f.write('x1,x2,label\n')
    for i in range(80):
        c = i % 2
        while True:
            x1, x2 = random.uniform(-3, 3), random.uniform(-3, 3)
            m = x1 + 0.5 * x2 - 0.3
            if abs(m) > 0.4 and (m > 0) == (c == 1):
                break
        f.write(f'{x1:.3f},{x2:.3f},{"a" if c else "b"}\n')
with open('xor.csv', 'w') as f:
    f.write('x1,x2,label\n')
    for i in range(80):
        x1, x2 = random.uniform(-1, 1), random.uniform(-1, 1)
        if abs(x1) < 0.1 or abs(x2) < 0.1:
            continue
        f.write(f'{x1:.3f},{x2:.3f},{"same" if (x1 > 0) == (x2 > 0) else "diff"}\n')
