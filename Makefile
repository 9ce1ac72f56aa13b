# imapscope: build, test, sanitize, bench.
#
#   make            build ./imapscope and dissector/libimapdissect.a
#   make test       build and run every test (unit, golden, oracle, live)
#   make sanitize   the same tests under ASan + UBSan (build-san/)
#   make check      test, then sanitize (what CI runs)
#   make bench      the benchmark (see docs/performance.md)
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS each
#
# Objects go to $(BUILD) so a sanitizer build and a normal build can live
# side by side.  Every tests/unit/test_*.c is one cmocka binary linked with
# both libraries.

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
CSTD    := -std=c11
WARN    := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  ?= $(OPT) -g
ALL_CFLAGS = $(CSTD) $(WARN) $(CFLAGS) -D_GNU_SOURCE -Idissector -Isrc $(SANFLAGS) -MMD -MP
LDLIBS  := -lpcap -lssl -lcrypto -ljansson -lz -lpthread

ifeq ($(SANITIZE),1)
BUILD    := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT      := -O1
endif

DIS_SRC  := $(wildcard dissector/*.c)
DIS_OBJ  := $(DIS_SRC:%.c=$(BUILD)/%.o)
APP_SRC  := $(filter-out src/main.c,$(wildcard src/*.c))
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

DIS_LIB  := $(BUILD)/libimapdissect.a
APP_LIB  := $(BUILD)/libimapscope.a
PROG     := $(BUILD)/imapscope

.PHONY: all test unit sanitize check bench fuzz clean

all: $(PROG) imapscope dissector/libimapdissect.a

imapscope: $(PROG)
	@if [ "$(BUILD)" = "build" ]; then cp $(PROG) imapscope; fi

dissector/libimapdissect.a: $(DIS_LIB)
	@if [ "$(BUILD)" = "build" ]; then cp $(DIS_LIB) $@; fi

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(DIS_LIB): $(DIS_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(APP_LIB): $(APP_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(PROG): $(BUILD)/src/main.o $(APP_LIB) $(DIS_LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(APP_LIB) $(DIS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(APP_LIB) $(DIS_LIB) $(LDLIBS) -lcmocka

$(BUILD)/tools/%: tests/tools/%.c $(APP_LIB) $(DIS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(APP_LIB) $(DIS_LIB) $(LDLIBS)

unit: $(UNIT_BIN) $(TOOL_BIN) $(PROG)

# The whole suite: unit tests, then the script tests (golden, oracle, live).
test: all unit
	BUILD=$(BUILD) tests/run-all.sh

sanitize:
	$(MAKE) SANITIZE=1 test

# What CI and the README run: every test, then again under the sanitizers.
check:
	$(MAKE) test
	$(MAKE) sanitize

bench: all
	tests/bench/run.sh

clean:
	rm -rf build build-san imapscope dissector/libimapdissect.a

-include $(DIS_OBJ:.o=.d) $(APP_OBJ:.o=.d) $(BUILD)/src/main.d
