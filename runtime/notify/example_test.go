package notify_test

import (
	"fmt"
	"time"

	"github.com/zappy-mon/zappy/runtime/notify"
)

func ExampleText() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	since := time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)
	e := notify.Event{
		Kind: notify.KindRecovery, Site: "HomeLab", Monitor: "nas", Address: "tcp://192.168.1.20:445",
		Since: since, At: since.Add(63 * time.Second), Location: berlin,
	}
	fmt.Println(notify.Subject(e))
	fmt.Println(notify.Text(e))
	// Output:
	// RECOVERY: nas in HomeLab is UP
	// nas in HomeLab is UP (tcp://192.168.1.20:445) at 2:01 PM CET, outage lasted 1 mins 3 secs
}

func ExampleFormatDuration() {
	fmt.Println(notify.FormatDuration(45 * time.Second))
	fmt.Println(notify.FormatDuration(2*time.Hour + 5*time.Second))
	// Output:
	// 45 secs
	// 2 hours 0 mins 5 secs
}
