// Package recipe is the build tooling of the Linux DDE (not its runtime): it
// turns a donor manifest (donors/linux/<port>.toml) into verified donor
// files, user-space compile flags, compiled donor objects and the list of
// kernel symbols the DDE still has to provide.
//
// The steps, each a subcommand of cmd/ddebuild and a script in scripts/:
//
//   - Fetch (donor-fetch.sh): install linux-source-X.Y and the configured
//     headers from Debian when missing, resolve their exact versions, check
//     that both are the same kernel, extract only the manifest's files from
//     the tarball into build/donors/linux-<version>/ and record package
//     versions and SHA-256s in PROVENANCE.json there. Re-running with
//     everything present only re-hashes.
//   - Flags (dde-compile.sh): let Kbuild print the gcc line of a throwaway
//     out-of-tree module and filter it into the user-space flag set of the
//     DDE recipe (dropReason in flags.go says what is dropped and why),
//     written to build/dde/cflags.txt; regenerated only when the headers,
//     the shadow folder or CFlagsRecipe change.
//   - Compile (dde-compile.sh): gcc -c each donor .c with those flags, the
//     shadow-header folder dde/linux/shadow first on the include path, into
//     build/dde/<port>/, each object with a .json provenance record, then
//     an archive lib<port>.a. Debug paths are mapped relative to the
//     working folder, so objects are byte-identical across checkouts.
//   - Stubs (dde-stubs.sh): the undefined symbols of the donor objects, less
//     what given DDE objects define, become a generated C file of stubs that
//     stop the server naming the symbol, and a report. StubFile documents
//     how functions and data are told apart (from the instructions that use
//     each symbol, via objdump), and CheckStubs links donor objects + stubs
//     to prove nothing else is missing.
//
// Rules: donor files are never modified or committed (the goal for a
// manifest's patches is none); everything produced goes under build/;
// every donor-derived artefact records package, version and SHA-256.
// Host commands go through a Runner so tests can replace them.
package recipe
