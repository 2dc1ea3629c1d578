package talks

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"time"
)

// Session is a signed-in browser. Service.Login opens it, FindSession
// finds it by its token, and Logout or a password change closes it.
type Session struct {
	ID        int64
	UserID    int64
	TokenHash []byte // SHA-256 of Token; a Store never sees the token
	CreatedAt time.Time
	ExpiresAt time.Time

	// Token is the secret the browser presents (in an HttpOnly, SameSite
	// cookie). It is set only in the Sessions that Login and FindSession
	// return.
	Token string

	// User is the signed-in user, without its password hash. Service sets
	// it; a Store leaves it nil.
	User *User
}

// APIToken is a bearer credential that a user makes for scripts and the
// CLI. It is valid until revoked.
type APIToken struct {
	ID        int64
	UserID    int64
	Name      string
	TokenHash []byte // SHA-256 of Token; Service withholds it from users
	CreatedAt time.Time

	// Token is the secret, set only in the APIToken that CreateAPIToken
	// returns: it is shown once and cannot be recovered.
	Token string
}

// SetupToken lets its holder create the first administrator of an empty
// database. It is used once and expires.
type SetupToken struct {
	ID        int64
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// LoginToken lets its holder sign in as user UserID without a password,
// once, before it expires: the one-time sign-in link that the demo prints
// for each of its users (Service.CreateLoginLink).
type LoginToken struct {
	ID        int64
	UserID    int64
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AccountStore persists accounts. It is part of Store, with the same
// error conventions: ENOTFOUND for no such row, ECONFLICT for a unique
// constraint, EINVALID for a reference to no row. Every method is one
// transaction. Implementations are safe for concurrent use.
type AccountStore interface {
	// CountUsers returns the number of users.
	CountUsers(ctx context.Context) (int, error)

	// UpdatePassword sets the password hash of user userID and deletes
	// every session of that user except keepSessionID (0 keeps none), in
	// one transaction. ENOTFOUND if there is no such user.
	UpdatePassword(ctx context.Context, userID int64, hash string, keepSessionID int64) error

	// CreateSession stores s and sets s.ID; it ignores s.Token and s.User.
	// EINVALID if the user does not exist; ECONFLICT for a token hash
	// already stored.
	CreateSession(ctx context.Context, s *Session) error

	// FindSessionByTokenHash returns the session whose token hashes to
	// hash, expired or not, or ENOTFOUND.
	FindSessionByTokenHash(ctx context.Context, hash []byte) (*Session, error)

	// DeleteSession deletes session id. ENOTFOUND if there is none.
	DeleteSession(ctx context.Context, id int64) error

	// DeleteExpiredSessions deletes the sessions that expire at or before
	// now and returns how many it deleted.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)

	// CreateAPIToken stores t and sets t.ID; it ignores t.Token. EINVALID
	// if the user does not exist; ECONFLICT if the user has a token of
	// that name, or for a token hash already stored.
	CreateAPIToken(ctx context.Context, t *APIToken) error

	// FindAPITokenByTokenHash returns the token whose secret hashes to
	// hash, or ENOTFOUND.
	FindAPITokenByTokenHash(ctx context.Context, hash []byte) (*APIToken, error)

	// FindAPITokens returns the tokens of user userID in ascending ID
	// order.
	FindAPITokens(ctx context.Context, userID int64) ([]*APIToken, error)

	// DeleteAPIToken deletes token id. ENOTFOUND if there is none.
	DeleteAPIToken(ctx context.Context, id int64) error

	// CreateSetupToken stores t and sets t.ID. ECONFLICT if any user
	// exists.
	CreateSetupToken(ctx context.Context, t *SetupToken) error

	// RedeemSetupToken creates user u (setting u.ID) if a setup token
	// hashes to hash and expires after now and no user exists, and deletes
	// every setup token, in one transaction. ENOTFOUND for no such token
	// or an expired one; ECONFLICT if a user exists.
	RedeemSetupToken(ctx context.Context, hash []byte, now time.Time, u *User) error

	// CreateLoginToken stores t and sets t.ID. EINVALID if the user does
	// not exist.
	CreateLoginToken(ctx context.Context, t *LoginToken) error

	// RedeemLoginToken deletes the login token that hashes to hash, if it
	// expires after now, and stores sess as a session of the token's user
	// (setting sess.ID and sess.UserID; it ignores sess.Token and
	// sess.User), in one transaction. ENOTFOUND, with nothing changed, for
	// no such token or an expired one (DeleteExpiredLoginTokens deletes
	// those).
	RedeemLoginToken(ctx context.Context, hash []byte, now time.Time, sess *Session) error

	// DeleteExpiredLoginTokens deletes the login tokens that expire at or
	// before now and returns how many it deleted.
	DeleteExpiredLoginTokens(ctx context.Context, now time.Time) (int, error)
}

// AccountPolicy holds the limits of accounts. DefaultAccountPolicy
// documents the defaults.
type AccountPolicy struct {
	SessionTTL    time.Duration // how long a session lasts
	SetupTokenTTL time.Duration // how long a setup token lasts
	LoginLinkTTL  time.Duration // how long a sign-in link lasts

	// A login is refused for FailureWindow after AccountFailures failed
	// attempts at one email, or AddressFailures from one address, within
	// the window (sliding, see Limiter).
	AccountFailures int
	AddressFailures int
	FailureWindow   time.Duration

	Argon2 Argon2Params // of new password hashes
}

// DefaultAccountPolicy: sessions last 14 days; a setup token and a
// sign-in link last 24 hours; 5 failures per email or 50 per address
// (many users may share one behind NAT) in 15 minutes lock further
// attempts until the oldest leaves the window; passwords are hashed with
// DefaultArgon2Params.
var DefaultAccountPolicy = AccountPolicy{
	SessionTTL:      14 * 24 * time.Hour,
	SetupTokenTTL:   24 * time.Hour,
	LoginLinkTTL:    24 * time.Hour,
	AccountFailures: 5,
	AddressFailures: 50,
	FailureWindow:   15 * time.Minute,
	Argon2:          DefaultArgon2Params,
}

// accountState is the Service's account machinery, made on first use.
type accountState struct {
	mu   sync.Mutex
	conf *accountConf

	dummyOnce sync.Once
	dummy     string // a hash to check unknown emails against

	auth authCache // authenticated tokens and sessions (authcache.go)
}

// accountConf is an account policy with its limiters. It does not change
// once made: SetAccountPolicy replaces it whole.
type accountConf struct {
	policy    AccountPolicy
	byAccount *Limiter
	byAddress *Limiter

	// byInvitation counts failed sign-ups per invitation ID, with the
	// per-account limits. It is a limiter of its own so that no login
	// email can name, and lock, an invitation.
	byInvitation *Limiter
}

// SetAccountPolicy sets the account limits and forgets every failed
// login. Call it before any other account method; the default is
// DefaultAccountPolicy.
func (s *Service) SetAccountPolicy(p AccountPolicy) {
	s.acct.mu.Lock()
	defer s.acct.mu.Unlock()
	s.acct.conf = s.newAccountConf(p)
}

func (s *Service) newAccountConf(p AccountPolicy) *accountConf {
	return &accountConf{
		policy:    p,
		byAccount: NewLimiter(p.AccountFailures, p.FailureWindow, s.clock),
		byAddress: NewLimiter(p.AddressFailures, p.FailureWindow, s.clock),

		byInvitation: NewLimiter(p.AccountFailures, p.FailureWindow, s.clock),
	}
}

// accounts returns the account policy and limiters, made with
// DefaultAccountPolicy on first use.
func (s *Service) accounts() *accountConf {
	s.acct.mu.Lock()
	defer s.acct.mu.Unlock()
	if s.acct.conf == nil {
		s.acct.conf = s.newAccountConf(DefaultAccountPolicy)
	}
	return s.acct.conf
}

var (
	errBadLogin     = Errorf(EUNAUTHORIZED, "Email or password is incorrect.")
	errNoSession    = Errorf(EUNAUTHORIZED, "Your session has ended. Please sign in again.")
	errBadAPIToken  = Errorf(EUNAUTHORIZED, "Invalid API token.")
	errAPITokenGone = Errorf(ENOTFOUND, "API token not found.")
)

// newToken returns a fresh secret with the given prefix and its hash.
func newToken(prefix string) (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("token: %w", err)
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken returns the SHA-256 hash of a secret token, as a Store keeps
// it.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// publicUser returns a copy of u without its password hash: no user
// returned by an account method carries it.
func publicUser(u *User) *User {
	c := *u
	c.PasswordHash = ""
	return &c
}

func tooMany(wait time.Duration) error {
	n, unit := int(math.Ceil(wait.Minutes())), "minute"
	if wait < time.Minute {
		n, unit = max(1, int(math.Ceil(wait.Seconds()))), "second"
	}
	if n != 1 {
		unit += "s"
	}
	return Errorf(EUNAUTHORIZED, "Too many attempts; try again in %d %s.", n, unit)
}

// Login checks email and password and opens a session for the user,
// returning it with its Token and User set. addr is the client's network
// address as net/http gives it ("host:port", or a host; "" if unknown):
// the per-address limit counts by its host.
//
// Every failure answers the same EUNAUTHORIZED, whether or not the email
// exists, and costs the same argon2 work. After too many failures for the
// email or from the address (AccountPolicy) Login answers EUNAUTHORIZED
// "Too many attempts; try again in ..." without checking the password. A
// success forgets the email's failures but not the address's, so that
// signing in to one's own account cannot reset a guessing budget.
func (s *Service) Login(ctx context.Context, email, password, addr string) (*Session, error) {
	addr = hostOf(addr)
	a := s.accounts()
	// Each attempt counts as a failure until it succeeds, so that
	// concurrent guesses cannot overrun the limits.
	acctKey := strings.ToLower(strings.TrimSpace(email))
	ok, wait, acctAt := a.byAccount.Take(acctKey)
	if !ok {
		return nil, tooMany(wait)
	}
	var addrAt time.Time
	if addr != "" {
		if ok, wait, addrAt = a.byAddress.Take(addr); !ok {
			a.byAccount.Release(acctKey, acctAt)
			return nil, tooMany(wait)
		}
	}
	release := func() {
		a.byAccount.Release(acctKey, acctAt)
		if addr != "" {
			a.byAddress.Release(addr, addrAt)
		}
	}
	if len(password) > 4*MaxPasswordLength {
		return nil, errBadLogin
	}

	u, err := s.store.FindUserByEmail(ctx, strings.TrimSpace(email))
	if err != nil && ErrorCode(err) != ENOTFOUND {
		release()
		return nil, err
	}
	if u == nil || u.PasswordHash == "" {
		// Spend the same work as for a real account, so that timing does
		// not tell whether the email exists.
		_, _ = CheckPassword(s.dummyHash(), password)
		return nil, errBadLogin
	}
	if ok, err := CheckPassword(u.PasswordHash, password); err != nil {
		release()
		return nil, fmt.Errorf("check password of user %d: %w", u.ID, err)
	} else if !ok {
		return nil, errBadLogin
	}
	sess, err := s.openSession(ctx, u)
	if err != nil {
		release()
		return nil, err
	}
	a.byAccount.Reset(acctKey)
	if addr != "" {
		a.byAddress.Release(addr, addrAt)
	}
	return sess, nil
}

// hostOf returns the host of addr, a client's network address as net/http
// gives it (r.RemoteAddr, "host:port"), or addr if it has no port: the key
// of the per-address limits. Behind a proxy that is the proxy's address;
// trusting forwarded headers is the operator's choice, made in front of
// the server.
func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

func (s *Service) dummyHash() string {
	a, p := &s.acct, s.accounts().policy.Argon2
	a.dummyOnce.Do(func() {
		tok, _, err := newToken("")
		if err == nil {
			a.dummy, err = HashPassword(tok, p)
		}
		if err != nil {
			// Without randomness nothing else works either; keep a
			// well-formed hash so that the work is still done.
			a.dummy = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		}
	})
	return a.dummy
}

// newSession returns a new session of user userID, not yet stored, and
// its token.
func (s *Service) newSession(userID int64) (string, *Session, error) {
	tok, hash, err := newToken("bcs_")
	if err != nil {
		return "", nil, err
	}
	now := Timestamp(s.clock.Now())
	return tok, &Session{UserID: userID, TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(s.accounts().policy.SessionTTL)}, nil
}

func (s *Service) openSession(ctx context.Context, u *User) (*Session, error) {
	tok, sess, err := s.newSession(u.ID)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	sess.Token, sess.User = tok, publicUser(u)
	return sess, nil
}

// FindSession returns the session whose token is token, with its User
// set. EUNAUTHORIZED if there is none or it has expired (an
// expired session is deleted). It may answer from the authentication cache
// (see AuthCacheTTL), but checks expiry every time.
func (s *Service) FindSession(ctx context.Context, token string) (*Session, error) {
	hash := HashToken(token)
	key := keyOf(hash)
	c := &s.acct.auth
	if e, ok := c.get(key); ok && e.sess != nil {
		if s.clock.Now().Before(e.sess.ExpiresAt) {
			sess := *e.sess
			sess.User = publicUser(e.user)
			return &sess, nil
		}
		c.forget(key)
	}
	gen := c.generation()
	sess, err := s.store.FindSessionByTokenHash(ctx, hash)
	if ErrorCode(err) == ENOTFOUND {
		return nil, errNoSession
	} else if err != nil {
		return nil, err
	}
	if !s.clock.Now().Before(sess.ExpiresAt) {
		if err := s.store.DeleteSession(ctx, sess.ID); err != nil && ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
		return nil, errNoSession
	}
	u, err := s.store.FindUserByID(ctx, sess.UserID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, errNoSession
	} else if err != nil {
		return nil, err
	}
	sess.User = publicUser(u)
	kept := *sess
	c.put(key, authEntry{user: sess.User, sess: &kept}, gen)
	sess.User = publicUser(u)
	return sess, nil
}

// DeleteExpiredSessions deletes every session and every sign-in link
// (login token) that has expired, and returns how many of each it deleted.
// FindSession deletes an expired session it meets, and a link is deleted
// when it is used; the server calls this now and then for the rest.
func (s *Service) DeleteExpiredSessions(ctx context.Context) (sessions, links int, err error) {
	now := s.clock.Now()
	if sessions, err = s.store.DeleteExpiredSessions(ctx, now); err != nil {
		return 0, 0, err
	}
	links, err = s.store.DeleteExpiredLoginTokens(ctx, now)
	return sessions, links, err
}

// Logout closes the session whose token is token. Closing a session that
// does not exist (or no longer does) succeeds.
func (s *Service) Logout(ctx context.Context, token string) error {
	hash := HashToken(token)
	// After the store's change: a read that raced with it is not cached.
	defer s.acct.auth.forget(keyOf(hash))
	sess, err := s.store.FindSessionByTokenHash(ctx, hash)
	if ErrorCode(err) == ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if err := s.store.DeleteSession(ctx, sess.ID); err != nil && ErrorCode(err) != ENOTFOUND {
		return err
	}
	return nil
}

// ChangePassword sets the acting user's password to next, which must have
// MinPasswordLength to MaxPasswordLength characters (EINVALID). current
// must be the present password (EUNAUTHORIZED otherwise) unless the user
// has none. In the same transaction it closes every session of the user
// but keepSessionID (the one making the change; 0 closes all). API tokens
// stay valid.
func (s *Service) ChangePassword(ctx context.Context, current, next string, keepSessionID int64) error {
	me, err := currentUser(ctx)
	if err != nil {
		return err
	}
	if err := validatePassword(next); err != nil {
		return err
	}
	u, err := s.store.FindUserByID(ctx, me.ID)
	if err != nil {
		return err
	}
	if u.PasswordHash != "" {
		if ok, err := CheckPassword(u.PasswordHash, current); err != nil {
			return fmt.Errorf("check password of user %d: %w", u.ID, err)
		} else if !ok {
			return Errorf(EUNAUTHORIZED, "Current password is incorrect.")
		}
	}
	hash, err := HashPassword(next, s.accounts().policy.Argon2)
	if err != nil {
		return err
	}
	err = s.store.UpdatePassword(ctx, u.ID, hash, keepSessionID)
	s.acct.auth.forgetUser(u.ID, true, false)
	return err
}

// CreateAPIToken makes an API token named name for the acting user and
// returns it with its Token set: the only time the secret is shown.
// EINVALID for an empty name; ECONFLICT if the user has a token of that
// name.
func (s *Service) CreateAPIToken(ctx context.Context, name string) (*APIToken, error) {
	me, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return nil, Errorf(EINVALID, "Token name required (at most 200 bytes).")
	}
	tok, hash, err := newToken("bct_")
	if err != nil {
		return nil, err
	}
	t := &APIToken{UserID: me.ID, Name: name, TokenHash: hash, CreatedAt: Timestamp(s.clock.Now())}
	if err := s.store.CreateAPIToken(ctx, t); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return nil, Errorf(ECONFLICT, "You already have a token named %q.", name)
		}
		return nil, err
	}
	t.Token, t.TokenHash = tok, nil
	return t, nil
}

// FindAPITokens returns the acting user's API tokens, without secrets or
// hashes, in ascending ID order.
func (s *Service) FindAPITokens(ctx context.Context) ([]*APIToken, error) {
	me, err := currentUser(ctx)
	if err != nil {
		return nil, err
	}
	ts, err := s.store.FindAPITokens(ctx, me.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		t.TokenHash = nil
	}
	return ts, nil
}

// RevokeAPIToken deletes the acting user's API token id. ENOTFOUND if the
// user has no such token (another user's token does not exist for it).
func (s *Service) RevokeAPIToken(ctx context.Context, id int64) error {
	me, err := currentUser(ctx)
	if err != nil {
		return err
	}
	ts, err := s.store.FindAPITokens(ctx, me.ID)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.ID == id {
			err := s.store.DeleteAPIToken(ctx, id)
			s.acct.auth.forgetUser(me.ID, false, true)
			if ErrorCode(err) == ENOTFOUND {
				return errAPITokenGone
			}
			return err
		}
	}
	return errAPITokenGone
}

// AuthenticateAPIToken returns the user whose API token is token, without
// its password hash. EUNAUTHORIZED if there is no such token. It may
// answer from the authentication cache (see AuthCacheTTL).
func (s *Service) AuthenticateAPIToken(ctx context.Context, token string) (*User, error) {
	hash := HashToken(token)
	key := keyOf(hash)
	c := &s.acct.auth
	if e, ok := c.get(key); ok && e.sess == nil {
		return publicUser(e.user), nil
	}
	gen := c.generation()
	t, err := s.store.FindAPITokenByTokenHash(ctx, hash)
	if ErrorCode(err) == ENOTFOUND {
		return nil, errBadAPIToken
	} else if err != nil {
		return nil, err
	}
	u, err := s.store.FindUserByID(ctx, t.UserID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, errBadAPIToken
	} else if err != nil {
		return nil, err
	}
	u = publicUser(u)
	c.put(key, authEntry{user: u}, gen)
	return publicUser(u), nil
}

// CreateSetupToken returns a one-time token that lets its holder create
// the first administrator (Setup), valid for AccountPolicy.SetupTokenTTL.
// It needs no acting user: the server calls it at start-up and prints a
// link with the token. ECONFLICT once any user exists.
func (s *Service) CreateSetupToken(ctx context.Context) (string, error) {
	if n, err := s.store.CountUsers(ctx); err != nil {
		return "", err
	} else if n > 0 {
		return "", Errorf(ECONFLICT, "Setup is complete.")
	}
	tok, hash, err := newToken("bcsetup_")
	if err != nil {
		return "", err
	}
	now := Timestamp(s.clock.Now())
	t := &SetupToken{TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(s.accounts().policy.SetupTokenTTL)}
	if err := s.store.CreateSetupToken(ctx, t); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return "", Errorf(ECONFLICT, "Setup is complete.")
		}
		return "", err
	}
	return tok, nil
}

// CreateLoginLink returns a one-time token that signs its holder in as
// user userID (LoginWithLink), valid for AccountPolicy.LoginLinkTTL. It
// needs no acting user: the server calls it at start-up, for the demo
// users, and prints a link with each token. EINVALID if there is no such
// user.
func (s *Service) CreateLoginLink(ctx context.Context, userID int64) (string, error) {
	tok, hash, err := newToken("bclogin_")
	if err != nil {
		return "", err
	}
	now := Timestamp(s.clock.Now())
	t := &LoginToken{UserID: userID, TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(s.accounts().policy.LoginLinkTTL)}
	if err := s.store.CreateLoginToken(ctx, t); err != nil {
		return "", err
	}
	return tok, nil
}

// ErrLoginLink refuses a sign-in token that is unknown, spent or expired.
var ErrLoginLink = Errorf(EUNAUTHORIZED, "This sign-in link is invalid, used or expired.")

// LoginWithLink redeems sign-in token token (CreateLoginLink): it opens a
// session of the token's user, as Login does, and spends the token.
// ErrLoginLink for an unknown, spent or expired token.
func (s *Service) LoginWithLink(ctx context.Context, token string) (*Session, error) {
	tok, sess, err := s.newSession(0)
	if err != nil {
		return nil, err
	}
	switch err := s.store.RedeemLoginToken(ctx, HashToken(token), s.clock.Now(), sess); ErrorCode(err) {
	case "":
	case ENOTFOUND:
		return nil, ErrLoginLink
	default:
		return nil, fmt.Errorf("redeem login token: %w", err)
	}
	u, err := s.store.FindUserByID(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	sess.Token, sess.User = tok, publicUser(u)
	return sess, nil
}

// Setup redeems setup token token: it creates the first user, an
// administrator with the given name, email and password, and returns it
// without its password hash. The token, and every other setup token, is
// then spent. EINVALID for a bad name, email or password; EUNAUTHORIZED
// for an unknown, spent or expired token; ECONFLICT if a user exists.
func (s *Service) Setup(ctx context.Context, token, name, email, password string) (*User, error) {
	u := &User{Name: strings.TrimSpace(name), Email: strings.TrimSpace(email), Admin: true, CreatedAt: Timestamp(s.clock.Now())}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	if err := validatePassword(password); err != nil {
		return nil, err
	}
	hash, err := HashPassword(password, s.accounts().policy.Argon2)
	if err != nil {
		return nil, err
	}
	u.PasswordHash = hash
	switch err := s.store.RedeemSetupToken(ctx, HashToken(token), s.clock.Now(), u); ErrorCode(err) {
	case "":
		return publicUser(u), nil
	case ENOTFOUND:
		return nil, Errorf(EUNAUTHORIZED, "This setup link is invalid or has expired.")
	case ECONFLICT:
		return nil, Errorf(ECONFLICT, "Setup is complete.")
	default:
		return nil, err
	}
}

// CSRFToken returns the CSRF token of session sess under the server's
// secret key: HMAC-SHA256(key, "backchannel/csrf/v1\n" || sess.TokenHash)
// in unpadded base64url. It is bound to the session (a new session gets a
// new token, a closed one's token is useless) and needs no storage.
//
// The server keeps key (32 random bytes, generated at start or read from
// its configuration), puts the token in a hidden field of every form and
// an X-CSRF-Token header of every script request, and accepts a
// state-changing request authenticated by a session cookie only if
// CheckCSRFToken holds. Requests with a bearer API token need none: no
// browser attaches a bearer token by itself.
func CSRFToken(key []byte, sess *Session) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("backchannel/csrf/v1\n"))
	m.Write(sess.TokenHash)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRFToken reports, in constant time, whether token is the CSRF
// token of session sess under key.
func CheckCSRFToken(key []byte, sess *Session, token string) bool {
	return hmac.Equal([]byte(CSRFToken(key, sess)), []byte(token))
}
