package truststore

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newCA(t *testing.T, name string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestRememberAndCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Parley", "servers.json")
	store := Open(path)
	first, second := newCA(t, "first"), newCA(t, "second")

	if verdict, _, err := store.Check("office-pc:8443", first); err != nil || verdict != Unknown {
		t.Fatalf("a new server: %v %v", verdict, err)
	}
	if err := store.Remember("Office-PC:8443", "Office", first); err != nil {
		t.Fatal(err)
	}
	// Another process (the next start of the app) reads the same file.
	again := Open(path)
	if verdict, known, err := again.Check("office-pc:8443", first); err != nil || verdict != Same || known.Name != "Office" {
		t.Fatalf("the same CA: %v %+v %v", verdict, known, err)
	}
	verdict, known, err := again.Check("office-pc:8443", second)
	if err != nil || verdict != Changed {
		t.Fatalf("a changed CA: %v %v", verdict, err)
	}
	if want, _ := Fingerprint(first); known.Fingerprint != want {
		t.Errorf("the changed verdict should carry the old fingerprint %s, got %s", want, known.Fingerprint)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("servers.json: %v %v", info, err)
	}
	if verdict, _, _ := again.Check("other:8443", first); verdict != Unknown {
		t.Errorf("a CA is trusted per server, not everywhere")
	}
}

func TestFingerprint(t *testing.T) {
	f, err := Fingerprint(newCA(t, "x"))
	if err != nil || len(f) != 32*3-1 || strings.ToUpper(f) != f {
		t.Errorf("fingerprint %q %v", f, err)
	}
	if _, err := Fingerprint([]byte("junk")); err == nil {
		t.Error("junk has a fingerprint")
	}
}
