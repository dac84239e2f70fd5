package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq" // driver "postgres"

	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/fskind"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// defaultDSN is the database of commands given neither -db nor $KLEPTO_DSN.
const defaultDSN = "sqlite:klepto.db"

// dsnEnv names the environment variable holding the default database.
const dsnEnv = "KLEPTO_DSN"

// redacted replaces passwords.
const redacted = "xxxxx"

// database is a database named on the command line.
type database struct {
	dialect   *dialect.Dialect
	driver    string        // the database/sql driver name
	dsn       string        // the driver's data source name
	mysqlCfg  *mysql.Config // MySQL's connection, opened without a DSN string
	path      string        // the SQLite file
	shown     string        // the DSN as given, its password redacted
	passwords []string      // every password the DSN holds
	isDefault bool          // named by neither -db nor $KLEPTO_DSN
	pooler    bool          // PostgreSQL behind a pooler in transaction mode (?pooler=transaction)

	// connectTimeout bounds each connection to a server (-connect-timeout);
	// 0 for none.
	connectTimeout time.Duration
}

// parseDSN parses a -db or -to value:
//
//	sqlite:PATH, sqlite3:PATH, sqlite://PATH, or PATH ending in .db, .sqlite or .sqlite3
//	postgres://… or postgresql://…, passed to lib/pq unchanged but for
//	  pooler=transaction (see postgresPooler)
//	mysql://USER:PASS@HOST:PORT/DB?PARAMS, made into go-sql-driver's form
//	mysql:USER:PASS@tcp(HOST:PORT)/DB?PARAMS, go-sql-driver's form
//
// MySQL connections get parseTime=true. Errors never hold the password;
// they are usage errors, mistakes in the command line or $KLEPTO_DSN.
func parseDSN(s string) (database, error) {
	db, err := parseDSNText(s)
	if err != nil {
		return database{}, &usageError{msg: err.Error()}
	}
	return db, nil
}

// parseDSNText is parseDSN, with errors that are not yet usage errors.
func parseDSNText(s string) (database, error) {
	shown := redact(s)
	lower := strings.ToLower(s)
	switch {
	case s == "":
		return database{}, errors.New("empty database name (-db)")
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		u, err := url.Parse(s)
		if err != nil {
			return database{}, fmt.Errorf("invalid PostgreSQL URL %s: %w", redactUnparsed(s), errInvalidURL)
		}
		db := database{dialect: dialect.Postgres, driver: "postgres", dsn: s, shown: shown}
		if p, ok := u.User.Password(); ok {
			db.passwords = append(db.passwords, p)
		}
		db.passwords = append(db.passwords, u.Query()["password"]...)
		if err := db.postgresPooler(u); err != nil {
			return database{}, fmt.Errorf("invalid PostgreSQL URL %s: %w", shown, err)
		}
		return db, nil
	case strings.HasPrefix(lower, "mysql:"):
		cfg, err := parseMySQL(s[len("mysql:"):])
		if errors.Is(err, errInvalidURL) {
			shown = redactUnparsed(s)
		}
		if err != nil {
			return database{}, fmt.Errorf("invalid MySQL DSN %s: %w", shown, err)
		}
		// A password=… parameter is no password to go-sql-driver, which
		// sends it to the server as SET password=…, whose errors quote it.
		passwords := []string{cfg.Passwd, cfg.Params["password"]}
		return database{dialect: dialect.MySQL, driver: "mysql", dsn: cfg.FormatDSN(), mysqlCfg: cfg,
			shown: shown, passwords: passwords}, nil
	}
	path, ok := sqlitePath(s)
	if !ok {
		if i := strings.LastIndex(s, "@"); shown == s && i >= 0 {
			// Not a form redact knows, such as user:password@host/db:
			// whatever stands before @ may be a password.
			shown = redacted + s[i:]
			if j := strings.Index(s[:i], ":"); j >= 0 {
				shown = s[:j+1] + shown
			}
		}
		return database{}, fmt.Errorf("unknown database %s: want sqlite:PATH, a PATH ending in .db, "+
			"postgres://…, mysql://… or mysql:USER@tcp(HOST:PORT)/DB", shown)
	}
	switch {
	case path == "":
		return database{}, fmt.Errorf("invalid SQLite database %q: no file path", s)
	case strings.ContainsAny(path, "?#"):
		return database{}, fmt.Errorf("invalid SQLite database %q: the path holds ? or #", s)
	}
	return database{dialect: dialect.SQLite, driver: sqliteDriver, dsn: sqliteDSN(path), path: path, shown: s}, nil
}

// postgresPooler reads the parameter pooler of the PostgreSQL URL u, which
// is klepto-sql's, not lib/pq's: pooler=transaction says that the URL
// reaches PostgreSQL through a pooler in transaction mode, such as
// PgBouncer's pool_mode=transaction. It is then removed from the DSN, the
// archive is opened with sqlarchive.Options.NoPrepare, lib/pq is given
// binary_parameters=yes unless the URL sets it (so that each statement
// with parameters goes to the server in one message, never split across
// server connections), and watch polls instead of listening.
func (db *database) postgresPooler(u *url.URL) error {
	q := u.Query()
	mode, ok := q["pooler"]
	if !ok {
		return nil
	}
	if len(mode) != 1 || mode[0] != "transaction" {
		return fmt.Errorf("pooler=%s: the only mode is pooler=transaction", strings.Join(mode, ","))
	}
	q.Del("pooler")
	if !q.Has("binary_parameters") {
		q.Set("binary_parameters", "yes")
	}
	u.RawQuery = q.Encode()
	db.dsn, db.pooler = u.String(), true
	return nil
}

// sqlitePath returns the file of a SQLite DSN, and whether s is one.
func sqlitePath(s string) (string, bool) {
	for _, prefix := range []string{"sqlite3:", "sqlite:"} {
		if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
			rest := s[len(prefix):]
			// sqlite:///abs/path.db and sqlite://rel.db, as in URLs.
			if r, ok := strings.CutPrefix(rest, "//"); ok {
				rest = r
			}
			return rest, true
		}
	}
	for _, ext := range []string{".db", ".sqlite", ".sqlite3"} {
		if strings.HasSuffix(strings.ToLower(s), ext) && !strings.Contains(s, "://") {
			return s, true
		}
	}
	return "", false
}

// parseMySQL parses what follows "mysql:": a URL rest ("//user:pass@host:port/db?params")
// or go-sql-driver's DSN ("user:pass@tcp(host:port)/db?params").
func parseMySQL(rest string) (*mysql.Config, error) {
	if !strings.HasPrefix(rest, "//") {
		cfg, err := mysql.ParseDSN(rest)
		if err != nil {
			return nil, err
		}
		cfg.ParseTime = true
		return cfg, nil
	}
	u, err := url.Parse("mysql:" + rest)
	if err != nil {
		return nil, errInvalidURL
	}
	host := u.Host
	if host == "" {
		return nil, errors.New("no host")
	}
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "3306")
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	if dbName == "" || strings.Contains(dbName, "/") {
		return nil, errors.New("want one database name after the host, as in mysql://user@host:3306/db")
	}
	// Parameters are read by go-sql-driver itself; user, password and
	// database name are set afterwards, so no character of theirs needs
	// escaping in a DSN.
	params := ""
	if u.RawQuery != "" {
		params = "?" + u.RawQuery
	}
	cfg, err := mysql.ParseDSN("tcp(" + host + ")/" + params)
	if err != nil {
		return nil, err
	}
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.DBName = dbName
	cfg.ParseTime = true
	return cfg, nil
}

// errInvalidURL replaces the errors of url.Parse, whose text may hold part
// of the password: parts the parser took for a port or a host, say.
var errInvalidURL = errors.New("invalid URL: percent-encode special characters in the user and password")

// userinfo returns what stands between "://" and the last @ of s, which
// may be a user and password whatever characters they hold, and whether
// s has it.
func userinfo(s string) (string, bool) {
	i := strings.Index(s, "://")
	if i < 0 {
		return "", false
	}
	j := strings.LastIndex(s, "@")
	if j < i+len("://") {
		return "", false
	}
	return s[i+len("://") : j], true
}

// redactUnparsed returns the URL s, which url.Parse refused, with
// everything between "://" and the last @ replaced by xxxxx: without the
// parser, what is user and what is password is unknown.
func redactUnparsed(s string) string {
	info, ok := userinfo(s)
	if !ok {
		return redact(s)
	}
	i := strings.Index(s, "://") + len("://")
	return redact(s[:i] + redacted + s[i+len(info):])
}

var (
	// urlPassword matches the password of scheme://user:password@ in text;
	// a password runs to the last @ of its word, in case it holds @.
	urlPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s]*@`)
	// mysqlScheme matches the mysql: before go-sql-driver DSNs, which
	// redact sets apart so that mysqlPassword does not take it for a user.
	mysqlScheme = regexp.MustCompile(`(?i)\bmysql:`)
	// mysqlPassword matches the password of user:password@tcp( and the
	// other protocols of go-sql-driver's DSNs.
	mysqlPassword = regexp.MustCompile(`(?m)(^|[\s"'(\x00])([^\s"':/@(\x00]*:)[^\s]*@(tcp|tcp6|unix|udp)?\(`)
	// kvPassword matches password=… of key=value DSNs and URL queries.
	// A colon that ends the word is left, such as that of "…password=x: error".
	kvPassword = regexp.MustCompile(`(?i)(password=)('[^']*'|[^\s&]*[^\s&:]|)`)
)

// redact returns dsn, or any text holding DSNs, with every password
// replaced by xxxxx: those of URLs (scheme://user:password@host), of
// go-sql-driver DSNs (user:password@tcp(host)) and of key=value pairs
// (password=…).
func redact(dsn string) string {
	s := urlPassword.ReplaceAllString(dsn, "${1}"+redacted+"@")
	s = mysqlScheme.ReplaceAllStringFunc(s, func(m string) string { return m[:len(m)-1] + "\x00" })
	s = mysqlPassword.ReplaceAllString(s, "${1}${2}"+redacted+"@${3}(")
	s = strings.ReplaceAll(s, "\x00", ":")
	return kvPassword.ReplaceAllString(s, "${1}"+redacted)
}

// secret records the password of the database named dsn, if any, so that
// no message shows it, even where redact would not find it.
// A URL that does not parse has everything between "://" and its last @
// taken for secret, if it holds a password (a colon), and what follows the
// first colon too.
func (e *env) secret(dsn string) {
	db, err := parseDSN(dsn)
	if err == nil {
		for _, p := range db.passwords {
			if p != "" && !slices.Contains(e.secrets, p) {
				e.secrets = append(e.secrets, p)
			}
		}
		return
	}
	info, _ := userinfo(dsn)
	if _, password, found := strings.Cut(info, ":"); found && password != "" {
		e.secrets = append(e.secrets, info, password)
	}
}

// redactText returns text without the passwords of the databases named on
// the command line.
func (e *env) redactText(text string) string {
	for _, p := range e.secrets {
		userinfo := strings.TrimPrefix(url.UserPassword("", p).String(), ":")
		for _, form := range []string{p, url.QueryEscape(p), url.PathEscape(p), userinfo} {
			text = strings.ReplaceAll(text, form, redacted)
		}
	}
	return redact(text)
}

// redactWriter passes writes on to w, every password that e knows of
// replaced by xxxxx. It is for stderr, whose messages are each written
// at once; never for data, which it would change.
type redactWriter struct {
	w io.Writer
	e *env
}

func (r *redactWriter) Write(p []byte) (int, error) {
	s := r.e.redactText(string(p))
	if s == string(p) {
		return r.w.Write(p)
	}
	if _, err := io.WriteString(r.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// dbFlag registers -db on fs.
func dbFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "db", "", "the `DSN` of the database (see below); default $"+dsnEnv+", else "+defaultDSN)
}

// resolve returns the database named by the -db value flagValue, or by
// $KLEPTO_DSN, or the default.
func (e *env) resolve(flagValue string) (database, error) {
	s := flagValue
	if s == "" {
		s = e.getenv(dsnEnv)
	}
	if s == "" {
		db, err := parseDSN(defaultDSN)
		db.isDefault, db.connectTimeout = true, e.connectTimeout
		return db, err
	}
	e.secret(s)
	db, err := parseDSN(s)
	db.connectTimeout = e.connectTimeout
	return db, err
}

// noteDefault tells on stderr that db is the default database, if it is
// and create is set: a command that creates the file if need be should
// not do so unannounced in whatever folder it runs in.
func (e *env) noteDefault(db database, create bool) {
	if create && db.isDefault {
		fmt.Fprintf(e.stderr, "klepto-sql: using %s in the current folder (no -db, no $%s)\n", defaultDSN, dsnEnv)
	}
}

// open returns a pool on db. Unless create is set, a SQLite file must
// exist already, so that reading commands never leave empty files behind.
// Servers are pinged, so that a wrong address or password fails here,
// with the DSN in the message.
func (db *database) open(ctx context.Context, create bool) (*sql.DB, error) {
	if db.dialect == dialect.SQLite {
		st, err := os.Stat(db.path)
		if !create && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no SQLite database at %s; `klepto-sql migrate up -db %s` creates one", db.path, db.shown)
		}
		if err == nil && !st.Mode().IsRegular() {
			// SQLite would write a -journal file beside it, and more.
			return nil, fmt.Errorf("SQLite database %s is %s, not a regular file", db.path, fskind.Name(st.Mode()))
		}
		pool, err := sql.Open(db.driver, db.dsn)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", db.shown, err)
		}
		// One writer connection, as dialect.SQLiteDSN recommends: the
		// commands never hold a connection while they need another.
		pool.SetMaxOpenConns(1)
		return pool, nil
	}
	var c driver.Connector
	var err error
	if db.mysqlCfg != nil {
		c, err = mysql.NewConnector(db.mysqlCfg)
	} else {
		c, err = newPostgresConnector(db.dsn)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", db.shown, err)
	}
	pool := sql.OpenDB(&timeoutConnector{Connector: c, timeout: db.connectTimeout})
	if err := pool.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("connect to %s: %w", db.shown, err), pool.Close())
	}
	return pool, nil
}

// archive is an open database and its klepto archive.
type archive struct {
	*sqlarchive.Archive
	db   *database
	pool *sql.DB
}

// openArchive opens the archive of the database dsn names. With create,
// it applies klepto's migrations first, creating the catalog; without, it
// needs the catalog to exist.
func (e *env) openArchive(ctx context.Context, dsn string, create bool) (*archive, error) {
	return e.openArchiveWith(ctx, dsn, create, func(database) sqlarchive.Options { return sqlarchive.Options{} })
}

// openArchiveWith is openArchive with the options that options returns
// for the database, whose SkipMigrate it sets.
func (e *env) openArchiveWith(ctx context.Context, dsn string, create bool, options func(database) sqlarchive.Options) (*archive, error) {
	db, err := e.resolve(dsn)
	if err != nil {
		return nil, err
	}
	e.noteDefault(db, create)
	pool, err := db.open(ctx, create)
	if err != nil {
		return nil, err
	}
	o := options(db)
	o.Dialect, o.SkipMigrate = db.dialect, !create
	o.NoPrepare = o.NoPrepare || db.pooler
	a, err := sqlarchive.Open(ctx, pool, &o)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%s: %w", db.shown, err), pool.Close())
	}
	return &archive{Archive: a, db: &db, pool: pool}, nil
}

// Close closes the archive and the pool.
func (a *archive) Close() error {
	return errors.Join(a.Archive.Close(), a.pool.Close())
}

// info returns the catalog row of the archive called name, with an error
// that says where to look when there is none.
func (a *archive) info(ctx context.Context, name string) (sqlarchive.TableInfo, error) {
	info, err := a.Info(ctx, name)
	return info, a.explain(err, name)
}

// explain returns err, or for an error wrapping sqlarchive.ErrNotFound,
// one that says where to look for the archive called name.
func (a *archive) explain(err error, name string) error {
	if errors.Is(err, sqlarchive.ErrNotFound) {
		return fmt.Errorf("no archive %q in %s (klepto-sql ls lists them)", name, a.db.shown)
	}
	return err
}
