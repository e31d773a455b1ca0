# Myelin: `make demo` and `make test` do all set-up on a fresh Debian/Ubuntu machine with Swift.
SWIFT ?= swift
# Real data sets live beside the repository on our machines; elsewhere set MYELIN_DATA yourself.
MYELIN_DATA ?= $(if $(wildcard ../shared/datasets),$(abspath ../shared/datasets),)
export MYELIN_DATA

.PHONY: all deps build release demo acceptance test bench clean

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product myelin

# The main job: an MLP trained on real MNIST (built-in data when MNIST cannot be found), with
# a progress bar, test accuracy, training curves and a confusion matrix in runs/demo.
demo: release
	.build/release/myelin demo --out runs/demo

# The acceptance figures of the issues (MNIST/Fashion MLP and CNN, iris, breast cancer, a regression CSV).
acceptance: release
	./scripts/acceptance.sh

# The whole test suite (Swift Testing), then bad input through the real `myelin` command.
test: deps
	$(SWIFT) test --disable-xctest
	$(SWIFT) build --product myelin
	./scripts/cli-errors.sh

# Benchmarks of ../shared/bench, with OpenBLAS free to use AVX-512 as on a user's machine.
bench: release
	rm -f bench-myelin.jsonl
	env -u OPENBLAS_CORETYPE .build/release/myelin bench --threads 2 --out bench-myelin.jsonl

clean:
	rm -rf .build
