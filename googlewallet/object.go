package googlewallet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	walletobjects "google.golang.org/api/walletobjects/v1"
)

// maxMessages is the number of messages Google keeps on an object.
const maxMessages = 10

// idOnly asks Google to answer a write with the resource's id alone
// (a partial response) rather than the whole object passd just sent:
// less to send, and less JSON for passd to decode, on every delivery.
const idOnly = "id"

// InsertObject creates the member's LoyaltyObject from card. When the object
// already exists (Google answers 409, for instance after a crash between
// insert and bookkeeping) it patches it instead, so the call is idempotent.
// The program's class must exist (see UpsertClass); otherwise the error
// wraps ErrNotFound.
func (c *Client) InsertObject(ctx context.Context, card Card) error {
	obj, err := c.buildObject(card, false)
	if err != nil {
		return err
	}
	err = c.call(ctx, "insert object", obj.Id, func(ctx context.Context) error {
		_, err := c.svc.Loyaltyobject.Insert(obj).Fields(idOnly).Context(ctx).Do()
		return err
	})
	if errors.Is(err, ErrConflict) {
		c.log.LogAttrs(ctx, slog.LevelDebug, "google wallet object exists, patching", slog.String("object_id", obj.Id))
		return c.PatchObject(ctx, card)
	}
	if err != nil {
		return err
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "google wallet object inserted", slog.String("object_id", obj.Id))
	return nil
}

// PatchObject brings the member's existing LoyaltyObject in line with card:
// state, account name and number, barcode, points balance (zero included),
// tier and the Message text module. It leaves the class and the messages
// list alone. When the object does not exist the error wraps ErrNotFound
// and the caller should InsertObject.
func (c *Client) PatchObject(ctx context.Context, card Card) error {
	obj, err := c.buildObject(card, true)
	if err != nil {
		return err
	}
	err = c.call(ctx, "patch object", obj.Id, func(ctx context.Context) error {
		_, err := c.svc.Loyaltyobject.Patch(obj.Id, obj).Fields(idOnly).Context(ctx).Do()
		return err
	})
	if err != nil {
		return err
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "google wallet object patched",
		slog.String("object_id", obj.Id), slog.Bool("notify", card.Notify))
	return nil
}

// AddMessage appends m to the messages of the object objectID through the
// addMessage endpoint. With notify the message type is TEXT_AND_NOTIFY and
// Google pushes a notification; otherwise it is TEXT and the message appears
// silently. Check NotifyAllowed before passing notify=true.
//
// The call reads the object first: a message whose ID is already there is
// not posted again (so a retried or replayed call posts once), and when the
// object already holds Google's maximum of 10 messages the oldest are
// dropped by patching the whole, shortened, messages array.
func (c *Client) AddMessage(ctx context.Context, objectID string, m Message, notify bool) error {
	if !c.checkResourceID(objectID) {
		return fmt.Errorf("googlewallet: add message: bad object id %q: %w", objectID, ErrInvalid)
	}
	if m.ID == "" || m.Header == "" || m.Body == "" {
		return fmt.Errorf("googlewallet: add message to %s: id, header and body are required: %w", objectID, ErrInvalid)
	}
	msgType := "TEXT"
	if notify {
		msgType = "TEXT_AND_NOTIFY"
	}
	req := &walletobjects.AddMessageRequest{Message: &walletobjects.Message{
		Id:          m.ID,
		Header:      m.Header,
		Body:        m.Body,
		MessageType: msgType,
	}}

	err := c.call(ctx, "add message", objectID, func(ctx context.Context) error {
		// Checked on every attempt: an attempt that failed in transport may
		// still have reached Google.
		obj, err := c.svc.Loyaltyobject.Get(objectID).Fields("messages").Context(ctx).Do()
		if err != nil {
			return err
		}
		for _, have := range obj.Messages {
			if have.Id == m.ID {
				return nil
			}
		}
		if n := len(obj.Messages); n >= maxMessages {
			keep := obj.Messages[n-(maxMessages-1):]
			patch := &walletobjects.LoyaltyObject{Messages: keep}
			if _, err := c.svc.Loyaltyobject.Patch(objectID, patch).Fields(idOnly).Context(ctx).Do(); err != nil {
				return err
			}
		}
		_, err = c.svc.Loyaltyobject.Addmessage(objectID, req).Fields("resource/id").Context(ctx).Do()
		return err
	})
	if err != nil {
		return err
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "google wallet message added",
		slog.String("object_id", objectID), slog.String("message_id", m.ID), slog.Bool("notify", notify))
	return nil
}

// Retire ends a pass for good, for instance when a member is erased. Google
// has no DELETE, so the object is replaced (PUT, which clears every field
// not sent) by one that keeps only its id, class and the state INACTIVE: no
// name, member number, barcode, balance, tier, texts or messages remain.
// Retiring an object that does not exist succeeds.
func (c *Client) Retire(ctx context.Context, objectID string) error {
	if !c.checkResourceID(objectID) {
		return fmt.Errorf("googlewallet: retire: bad object id %q: %w", objectID, ErrInvalid)
	}
	var got *walletobjects.LoyaltyObject
	err := c.call(ctx, "get object", objectID, func(ctx context.Context) error {
		var err error
		got, err = c.svc.Loyaltyobject.Get(objectID).Fields("id", "classId").Context(ctx).Do()
		return err
	})
	if errors.Is(err, ErrNotFound) {
		c.log.LogAttrs(ctx, slog.LevelDebug, "google wallet object to retire not found", slog.String("object_id", objectID))
		return nil
	}
	if err != nil {
		return err
	}
	bare := &walletobjects.LoyaltyObject{
		Id:      objectID,
		ClassId: got.ClassId,
		State:   string(StateInactive),
	}
	err = c.call(ctx, "retire object", objectID, func(ctx context.Context) error {
		_, err := c.svc.Loyaltyobject.Update(objectID, bare).Fields(idOnly).Context(ctx).Do()
		return err
	})
	if err != nil {
		return err
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "google wallet object retired", slog.String("object_id", objectID))
	return nil
}
