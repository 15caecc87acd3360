# Sluice -- one GNU Makefile, objects in build/, no configure step.
#
#   make              build build/sluice
#   make test         build and run every test suite (summary line last)
#   make SAN=1 test   the same under ASan+UBSan (objects in build/san/)
#   make check        format check, include-layer check, cppcheck
#   make gen          regenerate src/proto/gen/ from the Kafka JSON specs
#   make gen-check    fail if the checked-in codec differs from a fresh run
#   make fuzz         build libFuzzer targets (clang) into build/fuzz/
#   make deps         install every Debian package the project needs (build + test)
#   make build-deps   install only what building and running the broker needs
#   make install      install sluice, its man page, example config and systemd unit
#                     (PREFIX=/usr/local, DESTDIR= for staging)
#   make test-fresh   opt-in: the README's two commands in a fresh debootstrap root
#   make fmt          clang-format every hand-written C file

CC      ?= cc
ifeq ($(origin CC),default)
CC      := gcc
endif
PYTHON  ?= /usr/bin/python3
KAFKA_SPECS ?= ../shared/kafka-protocol

ifeq ($(SAN),1)
BUILD   ?= build/san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT     ?= -O1 -g
else
BUILD   ?= build
SANFLAGS =
OPT     ?= -O2 -g
endif

WARN    = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2 \
          -Wno-unused-parameter -Wno-missing-field-initializers
WERROR ?= -Werror
CFLAGS += -std=c17 -D_GNU_SOURCE $(OPT) $(WARN) $(WERROR) $(SANFLAGS) -Isrc -MMD -MP
LDFLAGS += $(SANFLAGS)
LIBS    = -lzookeeper_mt -lzstd -llz4 -lsnappy -lz -lpthread -lm
CMD_LIBS = -lrdkafka

LIB_SRC  := $(sort $(shell find src -name '*.c'))
CMD_SRC  := $(sort $(wildcard cmd/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/%.o)
LIBA     := $(BUILD)/libsluice.a

# Each directory under tests/ holding C files (not fuzz/) becomes one suite binary.
C_SUITES := $(sort $(filter-out fuzz,$(notdir $(patsubst %/,%,$(dir $(wildcard tests/*/*.c))))))
SUITE_BINS := $(C_SUITES:%=$(BUILD)/test-%)

all: $(BUILD)/sluice

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/sluice: $(CMD_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) $(LIBA) $(CMD_LIBS) $(LIBS)

$(BUILD)/tests/runner.o: tests/runner.c tests/test.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -c $< -o $@

define suite_rule
$(BUILD)/test-$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/$(1)/*.c)) $(BUILD)/tests/runner.o $(LIBA)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIBA) $(LIBS)
endef
$(foreach s,$(C_SUITES),$(eval $(call suite_rule,$(s))))

build-tests: $(BUILD)/sluice $(SUITE_BINS)

test: build-tests
	BUILD=$(BUILD) SAN=$(SAN) tests/run-all.sh

# ---- code generation ----
gen:
	$(PYTHON) tools/kgen/kgen.py --specs $(KAFKA_SPECS) --out src/proto/gen

gen-check:
	@if [ ! -d $(KAFKA_SPECS)/messages ]; then \
		echo "gen-check: skipped ($(KAFKA_SPECS) not present)"; exit 0; fi; \
	rm -rf $(BUILD)/gen-check && mkdir -p $(BUILD)/gen-check && \
	$(PYTHON) tools/kgen/kgen.py --specs $(KAFKA_SPECS) --out $(BUILD)/gen-check && \
	diff -r -q src/proto/gen $(BUILD)/gen-check && echo "gen-check: up to date"

# ---- fuzzing (clang + libFuzzer) ----
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BUILD := build/fuzz
# The librdkafka-based client layer is not fuzzed and would need -lrdkafka.
FUZZ_LIB_SRC := $(filter-out src/client/%,$(LIB_SRC))
FUZZ_CFLAGS = -std=c17 -D_GNU_SOURCE -O1 -g -Isrc -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=undefined
fuzz:
	@mkdir -p $(FUZZ_BUILD)
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
		echo "clang $$n"; \
		clang $(FUZZ_CFLAGS) -o $(FUZZ_BUILD)/$$n $$f $(FUZZ_LIB_SRC) $(LIBS) || exit 1; done

# ---- checks ----
HAND_C := $(shell find src cmd tests tools bench -name '*.[ch]' -not -path 'src/proto/gen/*' 2>/dev/null)
fmt:
	clang-format -i $(HAND_C)

check:
	clang-format --dry-run --Werror $(HAND_C)
	tools/check-layers.sh
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 \
		--suppress=missingIncludeSystem --inline-suppr -Isrc -D__GNUC__ \
		-i src/proto/gen src cmd

deps:
	sh tools/deps.sh test

build-deps:
	sh tools/deps.sh build

# Opt-in, slow (20+ min, ~2 GB download): see tools/test-fresh.sh.
test-fresh:
	sh tools/test-fresh.sh

# ---- install ----
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR  ?= $(PREFIX)/share/doc/sluice
install: $(BUILD)/sluice
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(SYSCONFDIR)/sluice \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	install -m 755 $(BUILD)/sluice $(DESTDIR)$(BINDIR)/sluice
	install -m 644 packaging/sluice.1 $(DESTDIR)$(MANDIR)/man1/sluice.1
	install -m 644 packaging/server.properties $(DESTDIR)$(DOCDIR)/server.properties.example
	@# An operator's edited config is never overwritten.
	if [ ! -e $(DESTDIR)$(SYSCONFDIR)/sluice/server.properties ]; then \
		install -m 644 packaging/server.properties $(DESTDIR)$(SYSCONFDIR)/sluice/server.properties; fi
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' packaging/sluice.service \
		>$(DESTDIR)$(UNITDIR)/sluice.service
	chmod 644 $(DESTDIR)$(UNITDIR)/sluice.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sluice $(DESTDIR)$(MANDIR)/man1/sluice.1 \
		$(DESTDIR)$(UNITDIR)/sluice.service $(DESTDIR)$(DOCDIR)/server.properties.example

bench: all
	$(MAKE) -C bench

clean:
	rm -rf build

.PHONY: all test build-tests gen gen-check fuzz fmt check deps build-deps test-fresh install \
	uninstall bench clean

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

serve: all
	$(BUILD)/sluice serve
.PHONY: serve
