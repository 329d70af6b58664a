package hook

import (
	"context"
	"fmt"
	"net/http"
)

// Sender is what every HTTP notifier holds besides its configuration: its
// provider type and name, which its errors start with, and the client it
// delivers with. Notifiers keep it in a field (not embedded, so that its
// methods do not become part of their API).
type Sender struct {
	typ, name string
	client    *http.Client
}

// NewSender checks cfg and returns the sender of notifier name of provider
// type typ. A configuration error reads `typ notifier "name": …`, like the
// decoding errors of Register.
func NewSender(typ, name string, cfg interface{ Validate() error }) (Sender, error) {
	if err := cfg.Validate(); err != nil {
		return Sender{}, configError(typ, name, err)
	}
	return Sender{typ: typ, name: name, client: NewClient()}, nil
}

func configError(typ, name string, err error) error {
	return fmt.Errorf("%s notifier %q: %w", typ, name, err)
}

// Name is the notifier's name.
func (s Sender) Name() string { return s.name }

// Do delivers r with the sender's client (see Do); a failure reads
// `typ "name": …`.
func (s Sender) Do(ctx context.Context, r Request) error {
	if err := Do(ctx, s.client, r); err != nil {
		return s.fail(err)
	}
	return nil
}

// PostJSON posts v, encoded by JSON, to url as application/json, with key
// as the Idempotency-Key ("" for none); a failure reads `typ "name": …`.
func (s Sender) PostJSON(ctx context.Context, url string, v any, key string) error {
	body, err := JSON(v)
	if err != nil {
		return s.fail(err)
	}
	return s.Do(ctx, Request{Method: http.MethodPost, URL: url, Body: body, ContentType: "application/json", IdempotencyKey: key})
}

func (s Sender) fail(err error) error { return fmt.Errorf("%s %q: %w", s.typ, s.name, err) }
