//go:build unix && !darwin

package datadir

import "testing"

func TestDefaultFollowsXDG(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/srv/data")
	dir, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if dir != "/srv/data/parley" {
		t.Errorf("Default() = %q", dir)
	}
	t.Setenv("XDG_DATA_HOME", "relative/ignored")
	t.Setenv("HOME", "/home/someone")
	dir, err = Default()
	if err != nil {
		t.Fatal(err)
	}
	if dir != "/home/someone/.local/share/parley" {
		t.Errorf("Default() with relative XDG = %q", dir)
	}
}
