package talks

import (
	"context"
	"time"
)

// User is an account. A user takes part in a talk through a Member.
type User struct {
	ID    int64
	Name  string
	Email string

	// Admin marks an administrator of the server. The first user, made
	// with a setup token (Service.Setup), is one.
	Admin bool

	// PasswordHash is the encoded argon2id hash of the user's password. It
	// never leaves the server: API and template types have no field for it.
	PasswordHash string

	CreatedAt time.Time
}

// Validate reports an EINVALID error if the user lacks a name or an email.
func (u *User) Validate() error {
	if u.Name == "" {
		return Errorf(EINVALID, "User name required.")
	} else if u.Email == "" {
		return Errorf(EINVALID, "User email required.")
	}
	return nil
}

type userContextKey struct{}

// NewContextWithUser returns a copy of ctx in which u is the acting user.
// The server sets it after authenticating a request; Service reads it.
func NewContextWithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userContextKey{}, u)
}

// UserFromContext returns the acting user of ctx, or nil if there is none.
func UserFromContext(ctx context.Context) *User {
	u, _ := ctx.Value(userContextKey{}).(*User)
	return u
}

// UserIDFromContext returns the acting user's ID, or 0 if there is none.
func UserIDFromContext(ctx context.Context) int64 {
	if u := UserFromContext(ctx); u != nil {
		return u.ID
	}
	return 0
}
