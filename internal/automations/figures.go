package automations

import (
	"context"
	"time"
)

// FigureFolder folds the programme figures' waiting deltas (the store).
type FigureFolder interface {
	FoldFigures(ctx context.Context, limit int) (int, error)
}

// Figures is the job that keeps the programme figures cheap to read: it
// folds the deltas each change appended into per-hour and current rows.
// The figures are exact without it; it only bounds what a read sums.
type Figures struct {
	Store FigureFolder
}

// Name implements Job.
func (Figures) Name() string { return "figures" }

// RunDue folds at most limit deltas; every waiting delta is due.
func (f Figures) RunDue(ctx context.Context, _ time.Time, limit int) (int, error) {
	return f.Store.FoldFigures(ctx, limit)
}
