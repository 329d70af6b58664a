package site

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/zappy-mon/zappy/runtime/state"
)

// heartbeat sends m's heartbeat (an HTTP GET of heartbeat_url, as
// Site24x7 and healthchecks.io expect) if m is up. Heartbeats are not
// queued: a late heartbeat is worthless, and a missed one is exactly what
// the receiving service is there to notice.
func (s *Site) heartbeat(m *mon) {
	if s.closed.Load() {
		return
	}
	s.running.Add(1)
	defer s.running.Done()
	m.mu.Lock()
	up := m.st.OutageID == "" && m.st.Status.Good() && !m.gone
	url := m.cfg.HeartbeatURL
	every := m.cfg.HeartbeatEvery
	m.mu.Unlock()
	if !up || url == "" {
		return
	}
	timeout := 10 * time.Second
	if every > 0 {
		timeout = min(timeout, max(every/2, time.Second))
	}
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	at := s.now()
	err := s.sendHeartbeat(ctx, url)
	if err != nil {
		s.log.Warn("heartbeat failed", "monitor", m.cfg.Name, "err", err)
		return
	}
	s.log.Debug("heartbeat sent", "monitor", m.cfg.Name)
	m.mu.Lock()
	m.st.LastSuccessfulHeartbeat = at
	st := m.st
	m.mu.Unlock()
	s.running.Add(1)
	s.writer.Submit(state.Update{Monitor: &st}, func(err error) {
		defer s.running.Done()
		if err != nil {
			s.log.Error("saving heartbeat", "monitor", m.cfg.Name, "err", err)
		}
	})
}

func (s *Site) sendHeartbeat(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "zappy/1")
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s: %s", req.URL.Host, resp.Status)
	}
	return nil
}
