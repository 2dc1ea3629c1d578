package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, as PEM, into
// dir, and returns their files and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "backchannel test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLS boots serve with --tls-cert and --tls-key: it answers over
// HTTPS, its printed sign-in links are https, and a session's cookie is
// Secure.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	s := openServe(t, &Serve{DB: filepath.Join(dir, "tls.db"), Demo: true, TLSCert: cert, TLSKey: key})
	base := "https://" + s.ListenAddr()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	if code, body := get(t, c, base+"/healthz"); code != http.StatusOK {
		t.Errorf("GET %s/healthz = %d %q, want 200", base, code, body)
	}
	// Plain HTTP on the same port is not served.
	if code, _ := get(t, nil, "http://"+s.ListenAddr()+"/healthz"); code == http.StatusOK {
		t.Errorf("plain HTTP to the TLS port answered 200")
	}

	out := s.Out.(*syncBuffer).String()
	links := regexp.MustCompile(`(?m)^  \S.*\S\s+(\S+/login/link\?token=\S+)$`).FindAllStringSubmatch(out, -1)
	if len(links) == 0 {
		t.Fatalf("no sign-in links printed:\n%s", out)
	}
	for _, l := range links {
		if !strings.HasPrefix(l[1], base+"/") {
			t.Errorf("sign-in link %s, want it under %s", l[1], base)
		}
	}

	logins := demoLogins(t, out)
	body := `{"email":"tomas@northland.example","password":"` + logins["tomas@northland.example"] + `"}`
	resp, err := c.Post(base+"/api/v1/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(resp.Cookies()) == 0 {
		t.Fatalf("POST /api/v1/login = %d with cookies %v, want 200 and a session cookie", resp.StatusCode, resp.Cookies())
	}
	for _, ck := range resp.Cookies() {
		if !ck.Secure || !ck.HttpOnly {
			t.Errorf("cookie %s: Secure %v, HttpOnly %v; want both over TLS", ck.Name, ck.Secure, ck.HttpOnly)
		}
	}
}
