# Sourced by the dde/donor scripts: builds the ddebuild tool into build/bin
# (Go's cache makes this quick when nothing changed) and sets DDEBUILD.
# Expects the repository root as the current folder.
mkdir -p build/bin
CGO_ENABLED=0 ${GO:-go} build -trimpath -o build/bin/ddebuild ./dde/linux/recipe/cmd/ddebuild
DDEBUILD=build/bin/ddebuild
