package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
)

// ListPage is how many rows a console list shows at once (rewards,
// campaigns, API keys, staff users, webhook endpoints, an endpoint's
// deliveries), as many as the member list.
const ListPage = loyalty.DefaultSearchLimit

// pager is a list's paging on its page: Next links the following page,
// First the first one (from a later page), Failure says in plain words why
// the page's cursor was refused.
type pager struct {
	Next, First, Failure string
}

// listPage reads the page of a list at the request's cursor through read
// (a store's cursor page) and answers its rows and paging; path is the
// list's own URL. A cursor the store did not hand out shows the problem's
// words, no rows and a link to the first page, answered 422 (as the member
// list); ok is false when the answer is written (the store failed).
func listPage[T any](s *Server, w http.ResponseWriter, r *http.Request, pg *page, what, path string,
	read func(ctx context.Context, cursor string, limit int) ([]T, string, error)) (rows []T, p pager, ok bool) {
	cursor := r.URL.Query().Get("cursor")
	if cursor != "" {
		p.First = path
	}
	rows, next, err := read(r.Context(), cursor, ListPage)
	if errors.Is(err, store.ErrBadCursor) {
		p.Failure = s.failure(w, r, pg, what, err)
		pg.status = http.StatusUnprocessableEntity
		return nil, p, true
	}
	if err != nil {
		s.internalError(w, r, what, err)
		return nil, p, false
	}
	if next != "" {
		p.Next = path + "?" + url.Values{"cursor": {next}}.Encode()
	}
	return rows, p, true
}
