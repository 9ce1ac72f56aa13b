# imapscope: build, test, sanitize, bench.
#
#   make            build ./imapscope and dissector/libimapdissect.a
#   make test       build and run every test (unit, golden, oracle, live)
#   make sanitize   the same tests under ASan + UBSan (build-san/)
#   make check      a clang build, test, then sanitize (what CI runs)
#   make bench      the benchmark (see docs/performance.md)
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS each
#   make fuzz-ci    every fuzz target for a bounded time; fails on a finding
#   make shared     the shared library $(BUILD)/libimapdissect.so.* (-fPIC)
#   make install    PREFIX (/usr/local) and DESTDIR as usual; make uninstall
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
# hiredis: the redis sink (src/netsink.c)
HIREDIS_CFLAGS := $(shell pkg-config --cflags hiredis 2>/dev/null || echo -I/usr/include/hiredis)
HIREDIS_LIBS   := $(shell pkg-config --libs hiredis 2>/dev/null || echo -lhiredis)
ALL_CFLAGS = $(CSTD) $(WARN) $(CPPFLAGS) $(CFLAGS) -D_GNU_SOURCE -Idissector -Isrc $(HIREDIS_CFLAGS) $(SANFLAGS) -MMD -MP
# jansson linked statically when its archive is installed (libjansson-dev
# ships it): its calls on the hot path (object iteration, value access) are
# then direct calls; measured -6.6% instructions on -T json.
JANSSON_A := $(shell $(CC) -print-file-name=libjansson.a)
JANSSON   := $(if $(filter /%,$(JANSSON_A)),$(JANSSON_A),-ljansson)
# GMime 3 (MIME of the mail, src/mail.c only: the dissector library does
# not use it) and libmagic (sniffed types); system headers, so their
# warnings are not ours
GMIME_CFLAGS := $(patsubst -I%,-isystem %,$(shell pkg-config --cflags gmime-3.0 2>/dev/null))
GMIME_LIBS   := $(or $(shell pkg-config --libs gmime-3.0 2>/dev/null),-lgmime-3.0 -lgio-2.0 -lgobject-2.0 -lglib-2.0)
LDLIBS  := -lpcap -lssl -lcrypto $(JANSSON) -lz $(HIREDIS_LIBS) -lpthread $(GMIME_LIBS) -lmagic

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

.PHONY: all test unit sanitize check bench fuzz fuzz-build fuzz-ci clean

all: $(PROG) imapscope dissector/libimapdissect.a

imapscope: $(PROG)
	@if [ "$(BUILD)" = "build" ]; then cp $(PROG) imapscope; fi

dissector/libimapdissect.a: $(DIS_LIB)
	@if [ "$(BUILD)" = "build" ]; then cp $(DIS_LIB) $@; fi

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/src/mail.o: ALL_CFLAGS += $(GMIME_CFLAGS)

$(DIS_LIB): $(DIS_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(APP_LIB): $(APP_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(PROG): $(BUILD)/src/main.o $(APP_LIB) $(DIS_LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(APP_LIB) $(DIS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(APP_LIB) $(DIS_LIB) $(LDLIBS) -lcmocka

$(BUILD)/tools/%: tests/tools/%.c $(APP_LIB) $(DIS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(APP_LIB) $(DIS_LIB) $(LDLIBS)

# The public dissector header used from C++ (tests/unit/test_cxx.cc): it
# must compile as C++17 -pedantic and work, linked without jansson (issue
# 10: usable from C++).
CXX      ?= g++
$(BUILD)/tests/test_cxx: tests/unit/test_cxx.cc dissector/imap.h dissector/imap_anomaly.h $(DIS_LIB)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -Wall -Wextra -Werror -pedantic $(CFLAGS) $(SANFLAGS) -Idissector -o $@ $< $(DIS_LIB) -lssl -lcrypto

unit: $(UNIT_BIN) $(BUILD)/tests/test_cxx $(TOOL_BIN) $(PROG)

# The whole suite: unit tests, then the script tests (golden, oracle, live).
test: all unit
	BUILD=$(BUILD) tests/run-all.sh

sanitize:
	$(MAKE) SANITIZE=1 test

# What CI and the README run: every test, then again under the sanitizers.
check:
	$(MAKE) CC=clang BUILD=build-clang all unit
	$(MAKE) test
	$(MAKE) sanitize

bench: all
	tests/bench/run.sh

# ---- fuzzing (libFuzzer, clang; see fuzz/README.md) -----------------------
# make fuzz FUZZ_SECONDS=N   build every fuzz/fuzz_*.c into build-fuzz/ and
#                            run each N seconds (seeds: fuzz/make_seeds.py)
# make fuzz-ci               each target FUZZ_CI_SECONDS (about 3 min in all);
#                            fails on any finding
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CI_SECONDS ?= 22
FUZZ_JOBS    ?= 1
FUZZ_CFLAGS  := -std=c11 -g -O1 -D_GNU_SOURCE -Idissector -Isrc $(HIREDIS_CFLAGS) -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRC     := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_OBJ     := $(DIS_SRC:%.c=$(FUZZ_BUILD)/obj/%.o) $(APP_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/obj/src/mail.o: FUZZ_CFLAGS += $(GMIME_CFLAGS)

$(FUZZ_BUILD)/libfuzzall.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_BUILD)/libfuzzall.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libfuzzall.a $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) fuzz/run.sh

fuzz-ci: fuzz-build
	FUZZ_SECONDS=$(FUZZ_CI_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) fuzz/run.sh --ci

# ---- shared library and install (README "Install") -----------------------
# make shared        $(BUILD)/libimapdissect.so.$(VERSION), SONAME
#                    libimapdissect.so.$(LIB_SOVERSION): the same dissector/*.c
#                    built again with -fPIC into $(BUILD)/pic/ (the objects of
#                    the static library are not touched).  It exports only the
#                    functions declared in the public headers (a version
#                    script generated from them) and links libcrypto
#                    dynamically (the dissector does not use jansson).
# make install       PREFIX (/usr/local), DESTDIR, and the usual *DIR names;
# make uninstall     removes what install put there.
# The public headers: imap.h and the headers it includes with "...".
VERSION       := $(shell sed -n 's/^.define IMAPSCOPE_VERSION "\(.*\)"/\1/p' src/main.c)
LIB_SOVERSION := 1
SHLIB         := libimapdissect.so
SHLIB_SONAME  := $(SHLIB).$(LIB_SOVERSION)
SHLIB_REAL    := $(SHLIB).$(VERSION)
PUB_HDR       := dissector/imap.h \
                 $(addprefix dissector/,$(shell sed -n 's/^.include "\([^"]*\)".*/\1/p' dissector/imap.h))
PIC_OBJ       := $(DIS_SRC:%.c=$(BUILD)/pic/%.o)
DOC_FILES     := README.md LICENSE docs/alerts.md docs/architecture.md docs/decoded.md docs/output.md \
                 docs/performance.md docs/tls.md docs/deployment.md
SCHEMA_FILES  := docs/schema/imapscope-events.schema.json

PREFIX         ?= /usr/local
BINDIR         ?= $(PREFIX)/bin
LIBDIR         ?= $(PREFIX)/lib
INCLUDEDIR     ?= $(PREFIX)/include
DATADIR        ?= $(PREFIX)/share
MANDIR         ?= $(DATADIR)/man
DOCDIR         ?= $(DATADIR)/doc/imapscope
BASHCOMPDIR    ?= $(DATADIR)/bash-completion/completions
PKGCONFIGDIR   ?= $(LIBDIR)/pkgconfig
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL        ?= install

.PHONY: shared install uninstall

shared: $(BUILD)/$(SHLIB_REAL)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@

# { global: imap_session_new; ...; local: *; }: every imap_name( in PUB_HDR
$(BUILD)/libimapdissect.map: $(PUB_HDR)
	@mkdir -p $(dir $@)
	{ echo '{ global:'; grep -ho '\bimap_[a-z0-9_]*[[:space:]]*(' $(PUB_HDR) | \
	  tr -d '( \t' | sort -u | sed 's/.*/    &;/'; echo '  local: *; };'; } > $@

$(BUILD)/$(SHLIB_REAL): $(PIC_OBJ) $(BUILD)/libimapdissect.map
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SHLIB_SONAME) -Wl,-z,defs \
	    -Wl,--version-script=$(BUILD)/libimapdissect.map -o $@ $(PIC_OBJ) -lcrypto -lpthread
	ln -sf $(SHLIB_REAL) $(BUILD)/$(SHLIB_SONAME)
	ln -sf $(SHLIB_SONAME) $(BUILD)/$(SHLIB)

# The pkg-config file gets this install's directories; the unit, which
# names /usr/bin/imapscope, the real BINDIR.
install: all shared
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(INCLUDEDIR)/imapscope $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)/schema \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	$(INSTALL) -m 0755 $(PROG) $(DESTDIR)$(BINDIR)/imapscope
	$(INSTALL) -m 0644 $(DIS_LIB) $(DESTDIR)$(LIBDIR)/libimapdissect.a
	$(INSTALL) -m 0644 $(BUILD)/$(SHLIB_REAL) $(DESTDIR)$(LIBDIR)/$(SHLIB_REAL)
	ln -sf $(SHLIB_REAL) $(DESTDIR)$(LIBDIR)/$(SHLIB_SONAME)
	ln -sf $(SHLIB_SONAME) $(DESTDIR)$(LIBDIR)/$(SHLIB)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' dissector/libimapdissect.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libimapdissect.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/libimapdissect.pc
	$(INSTALL) -m 0644 $(PUB_HDR) $(DESTDIR)$(INCLUDEDIR)/imapscope/
	$(INSTALL) -m 0644 docs/imapscope.1 $(DESTDIR)$(MANDIR)/man1/imapscope.1
	$(INSTALL) -m 0644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 $(SCHEMA_FILES) $(DESTDIR)$(DOCDIR)/schema/
	$(INSTALL) -m 0644 contrib/bash-completion/imapscope $(DESTDIR)$(BASHCOMPDIR)/imapscope
	sed 's|/usr/bin/imapscope|$(BINDIR)/imapscope|' contrib/systemd/imapscope@.service \
	    > $(DESTDIR)$(SYSTEMDUNITDIR)/imapscope@.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/imapscope@.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/imapscope $(DESTDIR)$(MANDIR)/man1/imapscope.1 \
	    $(DESTDIR)$(LIBDIR)/libimapdissect.a $(DESTDIR)$(LIBDIR)/$(SHLIB_REAL) \
	    $(DESTDIR)$(LIBDIR)/$(SHLIB_SONAME) $(DESTDIR)$(LIBDIR)/$(SHLIB) \
	    $(DESTDIR)$(PKGCONFIGDIR)/libimapdissect.pc \
	    $(DESTDIR)$(BASHCOMPDIR)/imapscope $(DESTDIR)$(SYSTEMDUNITDIR)/imapscope@.service
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/imapscope/,$(notdir $(PUB_HDR)))
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES))) \
	    $(addprefix $(DESTDIR)$(DOCDIR)/schema/,$(notdir $(SCHEMA_FILES)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/imapscope $(DESTDIR)$(DOCDIR)/schema $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build build-san imapscope dissector/libimapdissect.a

-include $(DIS_OBJ:.o=.d) $(PIC_OBJ:.o=.d) $(APP_OBJ:.o=.d) $(BUILD)/src/main.d $(FUZZ_OBJ:.o=.d)
