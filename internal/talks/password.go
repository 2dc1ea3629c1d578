package talks

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password length limits, in characters. The maximum bounds the work one
// login attempt can ask of the server.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 1024
)

// Argon2Params are the cost parameters of an argon2id hash (RFC 9106).
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultArgon2Params are the parameters of new password hashes: argon2id
// with 19 MiB of memory, 2 passes and 1 lane, a 16-byte salt and a 32-byte
// key. This is the OWASP Password Storage Cheat Sheet's minimum for
// argon2id, chosen so that a login costs tens of milliseconds on one core
// and many logins at once do not exhaust a small server's memory. A hash
// records its own parameters, so raising these later keeps old hashes
// verifiable (see PasswordNeedsRehash).
var DefaultArgon2Params = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrMalformedHash is returned for an encoded hash that HashPassword did not
// produce.
var ErrMalformedHash = errors.New("talks: malformed password hash")

var b64 = base64.RawStdEncoding

// HashPassword returns the argon2id hash of password with parameters p and
// a fresh random salt, encoded as in the PHC string format that the
// reference implementation uses:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64. It does not check the
// password's length; Service does.
func HashPassword(password string, p Argon2Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the encoded hash, which
// it recomputes with the hash's own parameters and compares in constant
// time. ErrMalformedHash if encoded is not an argon2id hash.
func CheckPassword(encoded, password string) (bool, error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// PasswordNeedsRehash reports whether encoded was made with parameters
// other than p (or is malformed), so that a server can rehash a password
// at the next successful login.
func PasswordNeedsRehash(encoded string, p Argon2Params) bool {
	q, salt, key, err := decodeHash(encoded)
	return err != nil || q.Memory != p.Memory || q.Time != p.Time || q.Threads != p.Threads ||
		uint32(len(salt)) != p.SaltLen || uint32(len(key)) != p.KeyLen
}

func decodeHash(encoded string) (p Argon2Params, salt, key []byte, err error) {
	f := strings.Split(encoded, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return p, nil, nil, ErrMalformedHash
	}
	var v int
	if _, err := fmt.Sscanf(f[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, ErrMalformedHash
	}
	if n, err := fmt.Sscanf(f[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || n != 3 ||
		p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.Memory > 4<<20 {
		return p, nil, nil, ErrMalformedHash
	}
	if salt, err = b64.DecodeString(f[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, ErrMalformedHash
	}
	if key, err = b64.DecodeString(f[5]); err != nil || len(key) < 16 {
		return p, nil, nil, ErrMalformedHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// validatePassword returns EINVALID unless password has an acceptable
// length.
func validatePassword(password string) error {
	switch n := utf8.RuneCountInString(password); {
	case n < MinPasswordLength:
		return Errorf(EINVALID, "Password must have at least %d characters.", MinPasswordLength)
	case n > MaxPasswordLength:
		return Errorf(EINVALID, "Password must have at most %d characters.", MaxPasswordLength)
	}
	return nil
}
