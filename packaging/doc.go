// Package packaging holds what turns the parley binary into installers
// (linux/: the .deb and the portable .tar.xz, built by `make installers`);
// its tests build the packages and install them into a throwaway root.
package packaging
