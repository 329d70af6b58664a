package hostfuncs

import "context"

// Begin prepares an operation and returns how to start it, whatever its
// kind: PrepareStart's Start as it is; a Sync operation's Exec run inline,
// so that done is called before Start returns; any other Exec run on a
// goroutine of its own.
func (op *Op) Begin(env Env, req, data []byte) (Start, error) {
	if op.PrepareStart != nil {
		return op.PrepareStart(env, req, data)
	}
	exec, err := op.Prepare(env, req, data)
	if err != nil {
		return nil, err
	}
	if op.Sync {
		return func(ctx context.Context, done func(any, []byte, error)) { done(exec(ctx)) }, nil
	}
	return func(ctx context.Context, done func(any, []byte, error)) {
		go func() { done(exec(ctx)) }()
	}, nil
}
