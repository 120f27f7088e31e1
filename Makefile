# libsess as a C library: build it and install it under a prefix.
#
#   make                                build the release libraries
#   make install PREFIX=/usr/local      install the header, libsess.a,
#                                       libsess.so.X.Y.Z (+ .so.X and .so
#                                       symlinks) and lib/pkgconfig/sess.pc
#   make uninstall PREFIX=/usr/local
#
# Then build against it with pkg-config alone:
#   cc app.c $(pkg-config --cflags --libs sess)                 (shared)
#   cc -static app.c $(pkg-config --static --cflags --libs sess) (static)
#
# DESTDIR stages an install (packaging); PROFILE=dev installs a debug build
# (the tests do, to reuse their build); CARGO_TARGET_DIR is honoured.
PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR     ?=
PROFILE     ?= release
CARGO       ?= cargo
STRIP       ?= strip
TARGET_DIR  ?= $(or $(CARGO_TARGET_DIR),target)
OUT         := $(TARGET_DIR)/$(if $(filter dev,$(PROFILE)),debug,$(PROFILE))

# The install paths are quoted for the shell (a PREFIX may hold spaces);
# in sess.pc a space is escaped with a backslash, as pkg-config reads it
# (and `\\` is one backslash in sed's replacement).
empty   :=
space   := $(empty) $(empty)
pc_path  = $(subst $(space),\\$(space),$(1))

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR   := $(word 1,$(subst ., ,$(VERSION)))

.PHONY: all install uninstall FORCE

all: $(OUT)/libsess.a

# cargo decides whether anything needs rebuilding (both libraries at once).
$(OUT)/libsess.a $(OUT)/libsess.so: FORCE
	$(CARGO) build --lib --profile $(PROFILE) --target-dir $(TARGET_DIR)

install: $(OUT)/libsess.a
	install -d '$(DESTDIR)$(INCLUDEDIR)' '$(DESTDIR)$(LIBDIR)' '$(DESTDIR)$(PKGCONFIGDIR)'
	install -m 644 include/sess.h '$(DESTDIR)$(INCLUDEDIR)/sess.h'
	install -m 644 $(OUT)/libsess.a '$(DESTDIR)$(LIBDIR)/libsess.a'
	install -m 755 $(OUT)/libsess.so '$(DESTDIR)$(LIBDIR)/libsess.so.$(VERSION)'
	@# Release artefacts ship without debug info (Rust's std brings its own).
	$(if $(filter release,$(PROFILE)),$(STRIP) --strip-debug '$(DESTDIR)$(LIBDIR)/libsess.a' '$(DESTDIR)$(LIBDIR)/libsess.so.$(VERSION)')
	ln -sf libsess.so.$(VERSION) '$(DESTDIR)$(LIBDIR)/libsess.so.$(MAJOR)'
	ln -sf libsess.so.$(MAJOR) '$(DESTDIR)$(LIBDIR)/libsess.so'
	sed -e 's|@PREFIX@|$(call pc_path,$(PREFIX))|' -e 's|@LIBDIR@|$(call pc_path,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(call pc_path,$(INCLUDEDIR))|' -e 's|@VERSION@|$(VERSION)|' \
	    sess.pc.in > '$(DESTDIR)$(PKGCONFIGDIR)/sess.pc'

uninstall:
	rm -f '$(DESTDIR)$(INCLUDEDIR)/sess.h' '$(DESTDIR)$(LIBDIR)/libsess.a' \
	      '$(DESTDIR)$(LIBDIR)/libsess.so.$(VERSION)' '$(DESTDIR)$(LIBDIR)/libsess.so.$(MAJOR)' \
	      '$(DESTDIR)$(LIBDIR)/libsess.so' '$(DESTDIR)$(PKGCONFIGDIR)/sess.pc'

FORCE:
