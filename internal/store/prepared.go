package store

import (
	"context"
	"database/sql"
	"sync"
)

// preparedReader runs reads through statements prepared once per query
// text. modernc.org/sqlite otherwise parses every statement on every call;
// for a member read that is about half its CPU. database/sql prepares a
// statement on each pooled connection the first time it runs there. The
// query texts are constants of this package, so the cache stays small.
type preparedReader struct {
	db *sql.DB
	mu sync.RWMutex
	// stmts maps a query text to its statement.
	stmts map[string]*sql.Stmt
}

func newPreparedReader(db *sql.DB) *preparedReader {
	return &preparedReader{db: db, stmts: map[string]*sql.Stmt{}}
}

// stmt answers the statement of query, preparing it the first time. A
// query that does not prepare answers nil; the caller then runs it
// unprepared, which reports the same error.
func (p *preparedReader) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.RLock()
	st, ok := p.stmts[query]
	p.mu.RUnlock()
	if ok {
		return st
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.stmts[query]; ok {
		return st
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.stmts[query] = st
	return st
}

func (p *preparedReader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, query, args...)
}

func (p *preparedReader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, query, args...)
}

// close closes the prepared statements.
func (p *preparedReader) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for q, st := range p.stmts {
		st.Close()
		delete(p.stmts, q)
	}
}
