package users

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
)

// User is a person who can log in, own API tokens and authorize apps.
type User struct {
	ID       int64  `db:"id" json:"id"`
	Username string `db:"username" json:"username"`
	Email    string `db:"email" json:"email"`
	// EmailVerified says the address was checked (OpenID Connect's
	// email_verified claim); authgate itself never sends mail, so only an
	// administrator sets it.
	EmailVerified bool `db:"email_verified" json:"email_verified"`
	// Name is the display name ("Full Name"), the name claim.
	Name      string    `db:"name" json:"name"`
	IsAdmin   bool      `db:"is_admin" json:"is_admin"`
	IsActive  bool      `db:"is_active" json:"is_active"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	UpdatedAt time.Time `db:"updated_at" json:"updated_at"`
}

// NewUser is what Create needs. Password is hashed before storage; an empty
// Password creates a user who cannot log in with a password.
type NewUser struct {
	Username string
	Email    string
	// EmailVerified and Name: see User.
	EmailVerified bool
	Name          string
	Password      string
	IsAdmin       bool
}

// Sentinel errors, compared with errors.Is.
var (
	ErrNotFound           = errors.New("user not found")
	ErrAlreadyExists      = errors.New("user already exists")
	ErrInvalidUsername    = errors.New("username must be 1-150 characters of letters, digits and . _ @ + -")
	ErrInvalidCredentials = errors.New("the username or password was not correct")
)

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9._@+-]{1,150}$`)

// ValidUsername reports whether name is an acceptable username (Django's
// username rule: letters, digits and @ . + - _).
func ValidUsername(name string) bool { return usernameRE.MatchString(name) }

// Store is the storage contract for users.
type Store interface {
	Create(ctx context.Context, nu NewUser) (User, error)
	Get(ctx context.Context, id int64) (User, error)
	GetByUsername(ctx context.Context, username string) (User, error)
	List(ctx context.Context) ([]User, error)
	Count(ctx context.Context) (int, error)
	SetPassword(ctx context.Context, id int64, password string) error
	SetActive(ctx context.Context, id int64, active bool) error
	SetAdmin(ctx context.Context, id int64, admin bool) error
	// SetProfile replaces the email address, its verified flag and the
	// display name; ErrInvalidProfile for values that cannot be stored.
	SetProfile(ctx context.Context, id int64, p Profile) error
	// Authenticate checks a username and password. Unknown users, inactive
	// users and wrong passwords all return ErrInvalidCredentials after the
	// same argon2id work, so timing does not reveal which it was. ErrBusy
	// means the password could not be checked now (answer 503).
	Authenticate(ctx context.Context, username, password string) (User, error)
}

// NotifyKind is the invalidation-notice kind of users: "user:<id>" is
// announced when a user's active or admin flag changes, so that caches of
// user-derived decisions (the API-token authentication cache) drop it.
const NotifyKind = "user"

// Notifier announces a change with its transaction (internal/notify.Bus).
type Notifier interface {
	PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error
}

// SQLStore implements Store on internal/db.
type SQLStore struct {
	db       *db.DB
	notifier Notifier
	hashes   *hashLimiter
	status   *statusCache // EnableStatusCache; nil: none
}

// NewSQLStore returns a Store backed by d whose password hashing shares
// the process-wide default bound (DefaultHashMemoryMiB, DefaultHashWait).
func NewSQLStore(d *db.DB) *SQLStore { return &SQLStore{db: d, hashes: defaultHashes} }

// NewSQLStoreWith returns a Store backed by d whose password hashing (sign-in
// checks and new passwords) is bounded by limits. Build one per process: the
// bound is per store. n, when not nil, makes SetActive and SetAdmin announce
// "user:<id>" in their transaction (docs/architecture.md, "Storage and
// invalidation"); nil announces nothing.
func NewSQLStoreWith(d *db.DB, limits HashLimits, n Notifier) *SQLStore {
	return &SQLStore{db: d, hashes: newHashLimiter(limits), notifier: n}
}

// HashSlots is how many argon2id hashes of the current parameters the store
// runs at once.
func (s *SQLStore) HashSlots() int { return s.hashes.slots() }

// hashPassword is HashPassword within the memory bound.
func (s *SQLStore) hashPassword(ctx context.Context, password string) (string, error) {
	if len(password) < MinPasswordLength {
		return "", ErrWeakPassword
	}
	var hash string
	var herr error
	if err := s.hashes.run(ctx, argonMemoryKiB, func() { hash, herr = HashPassword(password) }); err != nil {
		return "", err
	}
	return hash, herr
}

const userColumns = `id, username, email, email_verified, name, is_admin, is_active, created_at, updated_at`

// Create inserts a user.
func (s *SQLStore) Create(ctx context.Context, nu NewUser) (User, error) {
	if !ValidUsername(nu.Username) {
		return User{}, ErrInvalidUsername
	}
	hash := ""
	if nu.Password != "" {
		var err error
		if hash, err = s.hashPassword(ctx, nu.Password); err != nil {
			return User{}, err
		}
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := User{Username: nu.Username, Email: strings.TrimSpace(nu.Email), EmailVerified: nu.EmailVerified,
		Name: strings.TrimSpace(nu.Name), IsAdmin: nu.IsAdmin, IsActive: true, CreatedAt: now, UpdatedAt: now}
	if err := validProfile(u.Email, u.Name); err != nil {
		return User{}, err
	}
	q := s.db.Rebind(`INSERT INTO users (username, email, email_verified, name, password_hash, is_admin, is_active, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.QueryRowxContext(ctx, q, u.Username, u.Email, u.EmailVerified, u.Name, hash, u.IsAdmin, true, now, now).Scan(&u.ID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, AuditCreated, u.ID, map[string]any{"username": u.Username, "is_admin": u.IsAdmin})
	})
	if db.IsUniqueViolation(err) {
		return User{}, fmt.Errorf("create user %q: %w", nu.Username, ErrAlreadyExists)
	}
	if err != nil {
		return User{}, fmt.Errorf("create user %q: %w", nu.Username, err)
	}
	return u, nil
}

func (s *SQLStore) getOne(ctx context.Context, where string, arg any) (User, error) {
	var u User
	err := s.db.Prepared().GetContext(ctx, &u, s.db.Rebind(`SELECT `+userColumns+` FROM users WHERE `+where), arg)
	if db.IsNoRows(err) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("load user: %w", err)
	}
	normalize(&u)
	return u, nil
}

func normalize(u *User) {
	u.CreatedAt = u.CreatedAt.UTC()
	u.UpdatedAt = u.UpdatedAt.UTC()
}

// Get loads a user by ID (through the cache when EnableStatusCache turned
// it on).
func (s *SQLStore) Get(ctx context.Context, id int64) (User, error) {
	if s.status != nil {
		return s.cachedUser(ctx, id)
	}
	return s.getOne(ctx, "id = ?", id)
}

// GetByUsername loads a user by exact username.
func (s *SQLStore) GetByUsername(ctx context.Context, username string) (User, error) {
	return s.getOne(ctx, "username = ?", username)
}

// List returns every user ordered by username.
func (s *SQLStore) List(ctx context.Context) ([]User, error) {
	var out []User
	if err := s.db.SelectContext(ctx, &out, `SELECT `+userColumns+` FROM users ORDER BY username`); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	for i := range out {
		normalize(&out[i])
	}
	return out, nil
}

// Count returns the number of users.
func (s *SQLStore) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM users`); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

func (s *SQLStore) updateWith(ctx context.Context, ex sqlx.ExecerContext, id int64, set string, arg any) error {
	q := s.db.Rebind(`UPDATE users SET ` + set + ` = ?, updated_at = ? WHERE id = ?`)
	res, err := ex.ExecContext(ctx, q, arg, time.Now().UTC().Truncate(time.Microsecond), id)
	if err != nil {
		return fmt.Errorf("update user %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}

// updateAnnounced sets the active or admin flag and records the audit
// event in one transaction, announcing "user:<id>" with the change when a
// notifier is set (a rolled-back change announces nothing).
func (s *SQLStore) updateAnnounced(ctx context.Context, id int64, set string, on bool) error {
	return s.changeAnnounced(ctx, id, func(tx *sqlx.Tx) error {
		if err := s.updateWith(ctx, tx, id, set, on); err != nil {
			return err
		}
		return appendAudit(ctx, tx, flagEvent(set, on), id, nil)
	})
}

// changeAnnounced runs fn, a change of user id, in one transaction that
// announces "user:<id>" with its commit when a notifier is set (a
// rolled-back change announces nothing), and drops the user's cached
// record here at once.
func (s *SQLStore) changeAnnounced(ctx context.Context, id int64, fn func(tx *sqlx.Tx) error) error {
	if s.notifier == nil {
		err := s.db.InTx(ctx, fn)
		s.status.drop(id)
		return err
	}
	err := s.notifier.PublishInTx(ctx, NotifyKind, strconv.FormatInt(id, 10), fn)
	s.status.drop(id) // at once here; also after an error, the commit may have happened
	return err
}

// SetPassword replaces the user's password hash and records
// user.password_set (without the password) in the same transaction.
func (s *SQLStore) SetPassword(ctx context.Context, id int64, password string) error {
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	return s.changeAnnounced(ctx, id, func(tx *sqlx.Tx) error {
		if err := s.updateWith(ctx, tx, id, "password_hash", hash); err != nil {
			return err
		}
		return appendAudit(ctx, tx, AuditPasswordSet, id, nil)
	})
}

// SetActive activates or deactivates a user. Deactivated users cannot log in
// and their API tokens stop authenticating.
func (s *SQLStore) SetActive(ctx context.Context, id int64, active bool) error {
	return s.updateAnnounced(ctx, id, "is_active", active)
}

// SetAdmin grants or removes the admin flag.
func (s *SQLStore) SetAdmin(ctx context.Context, id int64, admin bool) error {
	return s.updateAnnounced(ctx, id, "is_admin", admin)
}

// Authenticate implements Store.
func (s *SQLStore) Authenticate(ctx context.Context, username, password string) (User, error) {
	var row struct {
		User
		PasswordHash string `db:"password_hash"`
	}
	err := s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT `+userColumns+`, password_hash FROM users WHERE username = ?`), username)
	if err != nil && !db.IsNoRows(err) {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	hash := row.PasswordHash
	if db.IsNoRows(err) || hash == "" {
		hash = dummyHash
	}
	ok := false
	if err := s.hashes.run(ctx, hashMemoryKiB(hash), func() { ok = VerifyPassword(hash, password) }); err != nil {
		return User{}, err
	}
	if db.IsNoRows(err) || row.PasswordHash == "" || !ok || !row.IsActive {
		return User{}, ErrInvalidCredentials
	}
	normalize(&row.User)
	return row.User, nil
}
