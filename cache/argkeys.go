package cache

import (
	"sync"
	"sync/atomic"
)

// argKeys keeps the key texts of recent arguments by argument value, for a
// memo whose keymap gives equal arguments equal keys (see
// keymap.Keymap.EqualKeys): a call whose arguments hit memory before makes
// no key, so a repeated hit neither encodes nor allocates. Arguments are
// kept on their first hit, not on a miss, so that a run of misses pays a
// failed lookup and nothing more. It is a cache of the
// keymap, a pure function, so it never needs to agree with memory: memory
// stays keyed by key text, and its policy and counts are those of every
// other memo.
//
// Arguments are held as interface values, whose hashing and == are the
// runtime's for the argument type; looking one up converts the argument on
// the stack.
type argKeys struct {
	texts sync.Map // argument value -> key text (string)
	n     atomic.Int64
	max   int64 // entries held before texts is emptied
}

// maxArgKeys bounds the argument values kept when memory is unbounded.
const maxArgKeys = 1 << 16

func newArgKeys(max int) *argKeys {
	return &argKeys{max: int64(max)}
}

// get returns the key text of args, if kept.
func (k *argKeys) get(args any) (string, bool) {
	text, ok := k.texts.Load(args)
	if !ok {
		return "", false
	}
	return text.(string), true
}

// put keeps text as the key text of args. Once more than max values are
// kept, it lets them all go: their texts are made again on their next hit.
func (k *argKeys) put(args any, text string) {
	if _, loaded := k.texts.LoadOrStore(args, text); loaded {
		return
	}
	if k.n.Add(1) > k.max {
		k.texts.Clear()
		k.n.Store(0)
	}
}
