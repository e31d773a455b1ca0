# Myelin: `make demo` and `make test` do all set-up on a fresh Debian/Ubuntu machine with Swift.
SWIFT ?= swift
# Real data sets live beside the repository on our machines; elsewhere set MYELIN_DATA yourself.
MYELIN_DATA ?= $(if $(wildcard ../shared/datasets),$(abspath ../shared/datasets),)
export MYELIN_DATA
# Pretrained models likewise (all-minilm-l6-v2/); elsewhere set MYELIN_MODELS, or they are downloaded when used.
MYELIN_MODELS ?= $(if $(wildcard ../shared/models),$(abspath ../shared/models),)
export MYELIN_MODELS

.PHONY: all deps test-deps build release demo acceptance test bench clean

all: build

deps:
	@./scripts/install-deps.sh

# The browser tests also need Chromium and chromedriver.
test-deps:
	@./scripts/install-deps.sh --browser

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product myelin

# The main job: an MLP trained on real MNIST (built-in data when MNIST cannot be found), with
# a progress bar, test accuracy, training curves and a confusion matrix in runs/demo.
demo: release
	.build/release/myelin demo --out runs/demo --overwrite

# The acceptance figures of the issues (MNIST/Fashion MLP and CNN, iris, breast cancer, a regression CSV).
# Then the long robustness runs on the release binary: 10,000 random CLI cases, 100 kill -9 trials.
acceptance: release
	@status=0; \
	./scripts/acceptance.sh || status=1; \
	MYELIN=.build/release/myelin python3 scripts/fuzz-cli.py --cases 10000 --seed 1 --time-limit 10 --memory-limit-mb 1024 --jobs 2 || status=1; \
	MYELIN=.build/release/myelin python3 scripts/kill-loop.py --trials 100 || status=1; \
	exit $$status

# The whole test suite (Swift Testing), then bad input through the real `myelin` command: fixed
# cases, 150 random ones, kill -9 during training, a full disk (when root). Every script runs; the
# recipe fails at the end when any of them failed.
# myelin is built first: the MPI tests run it under `mpirun -np 2`. batch1-floor.sh and
# sgemm-in-situ.sh run to check that they still build and run; their figures mean nothing on a
# machine running tests.
test: test-deps
	$(SWIFT) build --product myelin
	$(SWIFT) test --disable-xctest
	python3 scripts/check-test-assertions.py
	@status=0; \
	./scripts/cli-errors.sh || status=1; \
	./scripts/batch1-floor.sh >/dev/null || status=1; \
	[ "$$(uname -s)" != Linux ] || ./scripts/sgemm-in-situ.sh .build/debug/myelin bench --workloads gemm_f32_64 --threads 1 2>&1 \
		| grep -q "^sgemm in all" || status=1; \
	MYELIN=.build/debug/myelin python3 scripts/fuzz-cli.py --cases 150 --seed 1 --time-limit 30 --memory-limit-mb 1024 || status=1; \
	MYELIN=.build/debug/myelin python3 scripts/kill-loop.py --trials 6 || status=1; \
	MYELIN=.build/debug/myelin ./scripts/full-disk.sh || status=1; \
	exit $$status

# Benchmarks of ../shared/bench, with OpenBLAS free to use AVX-512 as on a user's machine.
bench: release
	rm -f bench-myelin.jsonl
	env -u OPENBLAS_CORETYPE .build/release/myelin bench --threads 2 --out bench-myelin.jsonl

clean:
	rm -rf .build
