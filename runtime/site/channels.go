package site

import (
	"fmt"

	"github.com/zappy-mon/zappy/config"
	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/email"

	_ "github.com/zappy-mon/zappy/runtime/notify/all" // every channel type registers itself with notify.New
)

// EmailChannelPrefix begins the names of the email channels: one per
// outage_emails recipient ("email:oncall@example.com"), so that each
// address gets its own mail (nobody sees the others' addresses) and its
// own delivery queue (one rejected address holds up nobody else).
const EmailChannelPrefix = "email:"

// Channels builds the notification channels of a configuration: the email
// channel (email_server + outage_emails), then outage_webhooks and
// notifiers in file order. Errors name the file and line.
func Channels(cfg *config.Config) ([]Channel, error) { return buildChannels(cfg) }

func buildChannels(cfg *config.Config) ([]Channel, error) {
	var out []Channel
	var problems config.Errors
	if srv := cfg.Site.Email; srv != nil {
		server := email.Server{
			Host: srv.Host, Port: srv.Port, Username: srv.Username, Password: srv.Password, From: srv.From,
			TLS: srv.TLS, VerifyTLS: srv.VerifyTLS, CAFile: srv.CAFile,
		}
		for _, r := range cfg.Site.OutageEmails {
			p, err := email.New(server, []email.Recipient{{Email: r.Email, Outages: r.Outages, Recoveries: r.Recoveries, Reminders: r.Reminders}})
			if err != nil {
				problems = append(problems, &config.Error{File: cfg.File, Line: srv.Line, Field: "site.email_server", Msg: err.Error()})
				break // the server's problem, the same for every recipient
			}
			out = append(out, Channel{Name: EmailChannelPrefix + r.Email, Provider: p, Email: true, Kinds: map[notify.Kind]bool{
				notify.KindOutage: r.Outages, notify.KindReminder: r.Reminders, notify.KindRecovery: r.Recoveries,
				notify.KindChange: r.Outages,
			}})
		}
	}
	for _, n := range cfg.Site.Notifiers {
		p, err := notify.New(n.Name, n.Type, n.Fields)
		if err != nil {
			problems = append(problems, &config.Error{File: cfg.File, Line: n.Line, Field: fmt.Sprintf("notifier %q", n.Name), Msg: err.Error()})
			continue
		}
		// A notifier's outages switch also governs the changes modules
		// report (a switch port going down): both say "something broke".
		out = append(out, Channel{Name: n.Name, Provider: p, Kinds: map[notify.Kind]bool{
			notify.KindOutage: n.Outages, notify.KindReminder: n.Reminders, notify.KindRecovery: n.Recoveries,
			notify.KindChange: n.Outages,
		}})
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return out, nil
}
