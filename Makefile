# gpufleet: top-level build. CMake + Ninja underneath.
#
#   make          build everything (release, build/)
#   make test     build with AddressSanitizer + UBSan (build-asan/) and run every test
#   make run      the quick start: a live center on this machine (see README)
#   make simulate-demo  replay public traces through the scheduler
#   make bench    run the benchmarks (release build)
#   make fuzz     build libFuzzer targets with clang (build-fuzz/) and fuzz each briefly

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
GENERATOR  := $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all test run simulate-demo bench fuzz clean

all:
	@cmake -S . -B $(BUILD) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Release -DGPUFLEET_SANITIZE=OFF -DGPUFLEET_FUZZ=OFF >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: all
	@cmake -S . -B $(ASAN_BUILD) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Debug -DGPUFLEET_SANITIZE=ON -DGPUFLEET_FUZZ=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@GPUFLEET_RELEASE_BUILD=$(CURDIR)/$(BUILD) tests/run-all $(ASAN_BUILD)

run: all
	@scripts/quickstart $(BUILD)

simulate-demo: all
	@scripts/simulate-demo $(BUILD)

bench: all
	@bench/run-all $(BUILD)

fuzz:
	@cmake -S . -B $(FUZZ_BUILD) -G "$(GENERATOR)" -DCMAKE_C_COMPILER=clang -DGPUFLEET_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@for t in $(FUZZ_BUILD)/fuzz/fuzz_*; do case $$t in *_replay) continue;; esac; \
		n=$$(basename $$t); mkdir -p $(FUZZ_BUILD)/corpus-$$n; \
		echo "fuzzing $$n for $${FUZZ_SECONDS:-30}s"; \
		$$t -max_total_time=$${FUZZ_SECONDS:-30} $(FUZZ_BUILD)/corpus-$$n fuzz/corpus/$$n || exit 1; \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
