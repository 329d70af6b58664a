// Package all registers every notifier type that registers itself with
// notify.New; import it for that side effect. (email, which sends over
// SMTP, is built by runtime/site directly.)
package all

import (
	_ "github.com/zappy-mon/zappy/runtime/notify/alertmanager"
	_ "github.com/zappy-mon/zappy/runtime/notify/discord"
	_ "github.com/zappy-mon/zappy/runtime/notify/ntfy"
	_ "github.com/zappy-mon/zappy/runtime/notify/pagerduty"
	_ "github.com/zappy-mon/zappy/runtime/notify/pushover"
	_ "github.com/zappy-mon/zappy/runtime/notify/slack"
	_ "github.com/zappy-mon/zappy/runtime/notify/teams"
	_ "github.com/zappy-mon/zappy/runtime/notify/webhook"
)
