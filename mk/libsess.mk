# The release libsess.a, for the Makefiles that link it (examples-c,
# bindings/cpp, hosts/apache). Set ROOT (the repository, relative to the
# including Makefile) before including this. CARGO_TARGET_DIR is honoured
# as cargo takes it: absolute, or relative to ROOT (cargo runs there).
SESS_TARGET := $(if $(CARGO_TARGET_DIR),$(if $(filter /%,$(CARGO_TARGET_DIR)),,$(ROOT)/)$(CARGO_TARGET_DIR),$(ROOT)/target)
SESS_LIB    := $(SESS_TARGET)/release/libsess.a

# cargo decides whether anything needs rebuilding. (The including
# Makefile's first target stays its default goal.)
sess_goal := $(.DEFAULT_GOAL)
$(SESS_LIB): FORCE
	cd $(ROOT) && cargo build --release --lib
.PHONY: FORCE
FORCE:
.DEFAULT_GOAL := $(sess_goal)
