package sqlarchive

import (
	"context"
	"errors"
	"fmt"
)

// CreateLike creates the archive that like describes, as Copy creates its
// target: the archive like.Name with like's codec, keymap (and keymap
// version) and TTL, its table and function version those of TableName.
// like usually is a catalog row of another database, or one read back from
// a file; its other fields (Table, FuncVersion, Layout, the bounds, the
// counters and times) are not used, but a Table or FuncVersion that is set
// must agree with TableName.
//
// If the catalog lists the archive already, CreateLike creates nothing and
// checks that it is the same archive: if its codec, keymap, keymap version
// or TTL differ, it returns a *MismatchError. It returns the catalog row.
func CreateLike(ctx context.Context, a *Archive, like TableInfo) (TableInfo, error) {
	if a == nil {
		return TableInfo{}, errors.New("sqlarchive: create: nil *Archive")
	}
	if err := a.check(); err != nil {
		return TableInfo{}, err
	}
	name := like.Name
	table, version, err := TableName(name)
	if err != nil {
		return TableInfo{}, err
	}
	switch {
	case like.Table != "" && like.Table != table, like.FuncVersion != "" && like.FuncVersion != version:
		return TableInfo{}, fmt.Errorf("sqlarchive: create %q: table %q and version %q, want %q and %q",
			name, like.Table, like.FuncVersion, table, version)
	case !like.Codec.Valid():
		return TableInfo{}, fmt.Errorf("sqlarchive: create %q: invalid codec %v", name, like.Codec)
	case like.TTL < 0:
		return TableInfo{}, fmt.Errorf("sqlarchive: create %q: negative TTL %v", name, like.TTL)
	case like.Keymap == "":
		return TableInfo{}, fmt.Errorf("sqlarchive: create %q: no keymap", name)
	case len(like.Keymap) > maxKeymap:
		return TableInfo{}, fmt.Errorf("sqlarchive: create %q: the keymap description %q is longer than the catalog's %d bytes",
			name, like.Keymap, maxKeymap)
	case like.KeymapVersion < 1:
		return TableInfo{}, fmt.Errorf("sqlarchive: create %q: invalid keymap version %d", name, like.KeymapVersion)
	}
	like.Table, like.FuncVersion = table, version
	if err := a.createLike(ctx, like); err != nil {
		return TableInfo{}, err
	}
	return a.Info(ctx, name)
}
