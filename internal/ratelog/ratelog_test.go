package ratelog

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLogger(t *testing.T) {
	var nilLogger *Logger
	nilLogger.Error("op", errors.New("ignored")) // a nil Logger logs nothing, and does not panic
	if New(nil, nil) != nil {
		t.Fatal("New(nil, nil) is not nil")
	}

	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})), func() time.Time { return now })
	boom := errors.New("boom")
	l.Error("get", boom, slog.String("memo", "fib"))
	l.Error("get", boom) // left out: within the interval
	l.Error("put", boom) // another operation has an interval of its own
	now = now.Add(Interval - time.Nanosecond)
	l.Error("get", boom) // left out
	l.Error("get", nil)  // not an error: nothing
	now = now.Add(time.Nanosecond)
	l.Error("get", boom)
	want := `level=ERROR msg="klepto: get" op=get err=boom memo=fib
level=ERROR msg="klepto: put" op=put err=boom
level=ERROR msg="klepto: get" op=get err=boom suppressed=2
`
	if got := buf.String(); got != want {
		t.Fatalf("records:\n%s\nwant:\n%s", got, want)
	}
	if strings.Count(buf.String(), "\n") != 3 {
		t.Fatal("not three records")
	}
}
