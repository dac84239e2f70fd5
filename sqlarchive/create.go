package sqlarchive

import (
	"context"
	"fmt"

	"github.com/klepto-sql/klepto/internal/errmark"
)

// CreateLike creates the archive that like describes, as Copy creates its
// target: the archive like.Name with like's codec, keymap (and keymap
// version) and TTL, its table and function version those of TableName.
// like usually is a catalog row of another database, or one read back from
// a file; its other fields (Table, FuncVersion, Layout and the times) are
// not used, but a Table or FuncVersion that is set must agree with
// TableName.
//
// If the catalog lists the archive already, CreateLike creates nothing and
// checks that it is the same archive: if its codec, keymap, keymap version
// or TTL differ, it returns a *MismatchError. It returns the catalog row.
func CreateLike(ctx context.Context, a *Archive, like TableInfo) (TableInfo, error) {
	if a == nil {
		return TableInfo{}, errmark.Errorf(ErrInvalidOptions, "sqlarchive: create: nil *Archive")
	}
	if err := a.check(); err != nil {
		return TableInfo{}, err
	}
	name := like.Name
	table, version, err := TableName(name)
	if err != nil {
		return TableInfo{}, err
	}
	if problem := likeProblem(like, table, version); problem != "" {
		return TableInfo{}, errmark.Errorf(ErrInvalidOptions, "sqlarchive: create %q: %s", name, problem)
	}
	like.Table, like.FuncVersion = table, version
	if err := a.createLike(ctx, like); err != nil {
		return TableInfo{}, err
	}
	return a.Info(ctx, name)
}

// likeProblem says what is wrong with like, the description of the archive
// whose table and function version are table and version, or returns "".
func likeProblem(like TableInfo, table, version string) string {
	switch {
	case like.Table != "" && like.Table != table, like.FuncVersion != "" && like.FuncVersion != version:
		return fmt.Sprintf("table %q and version %q, want %q and %q", like.Table, like.FuncVersion, table, version)
	case !like.Codec.Valid():
		return fmt.Sprintf("invalid codec %v", like.Codec)
	case like.TTL < 0:
		return fmt.Sprintf("negative TTL %v", like.TTL)
	case like.Keymap == "":
		return "no keymap"
	case len(like.Keymap) > maxKeymap:
		return fmt.Sprintf("the keymap description %q is longer than the catalog's %d bytes", like.Keymap, maxKeymap)
	case like.KeymapVersion < 1:
		return fmt.Sprintf("invalid keymap version %d", like.KeymapVersion)
	case like.Bounds.Validate() != nil:
		return like.Bounds.Validate().Error()
	}
	return ""
}
