// Package port starts a Linux driver port and measures how much of it
// the DDE already covers. It is the logic of `grail port` (and of
// `ddebuild port`) and builds on package grailos/dde/linux/recipe, which
// does the fetching, flag derivation, compiling and stub generation.
//
// Port (grail port NAME --from linux:PATH...):
//
//   - reads the donor files' folder from Debian's source tarball, finds
//     the Kbuild module the files belong to (ParseModules evaluates the
//     Makefile against the configured headers' auto.conf; the module's
//     other sources are added) and the private headers they include
//     (LocalIncludes);
//   - scaffolds donors/linux/NAME.toml and servers/nic/NAME/ (doc.go,
//     port_cgo.go modelled on the e1000 port, main_nodde.go), refusing to
//     overwrite files that exist with other content unless forced (an
//     identical re-run writes nothing and goes on; so does a re-run on a
//     port under way whose manifest is unchanged: its glue and docs are
//     its own to edit, only missing files are written);
//   - fetches (build.Fetch: provenance, byte-identical check) and compiles
//     (build.Compile) the files into build/dde/NAME/;
//   - classifies every kernel symbol the objects reference and do not
//     define (Class): implemented (the runtime archive
//     build/dde/libdde.a defines it outside dummies.o), hand-stubbed
//     (dummies.o, the log-once tier), libc (the static C library:
//     memcpy & co.) or missing; and writes the generated hard-stop stubs
//     for the missing ones (build.StubFile) to
//     build/dde/NAME/stubs_generated.c, checking that objects + stubs
//     link (build.Runner.CheckStubs).
//
// RunReport (grail port --report [--json]): every module of a Kbuild
// Makefile under drivers/net/ethernet whose sources register a PCI
// driver (IsPCIDriver) and that Debian's configuration builds is a
// driver (FindDrivers; modules on the same obj- line, such as 8390 for
// ne2k-pci, are compiled with it; the Makefile's ccflags -I/-D are
// added). The whole of drivers/net/ethernet is extracted once into
// build/donors/linux-<version>-ethernet/ with its PROVENANCE.json; each
// driver is compiled with build.Compile (the DDE flags plus -g0, which
// changes no symbol reference) into build/dde/port-report/<driver>/,
// stopping at its first failing file, whose first error line the report
// shows. Results are cached in build/dde/port-report/cache/, keyed by the
// tarball's SHA-256 (every source comes from it), the driver's sources,
// the flags file, the shadow headers and ReportRecipe; classification
// is redone on every run, against the current runtime archive. Drivers
// are compiled smallest first, Jobs compilers at a time; a time Budget
// leaves the rest pending (reported as such) for the next run, which
// starts from the cache. MakeReport sums up: per-driver counts, the
// drivers fully covered, and the classes of the union of all referenced
// symbols — the DDE's reach, and how far the next port is.
//
// Cost on this machine kind (2 cores): about 1.5 s of CPU per donor
// file, most of it parsing the kernel headers; the first --report
// compiles the 523 files of the 90 drivers that compile (the others
// stop at their first error) in about four minutes (226 s idle,
// 258 s with other builds running), a cached re-run takes about a
// second. The default budget (4m30s) only bites on a slower or busier
// machine.
package port
