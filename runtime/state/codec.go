package state

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// The times a Unix-nanosecond INTEGER can hold (years 1677–2262).
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// encTime is t as stored: NULL for the zero time, else Unix nanoseconds,
// which keep sub-second precision and sort and compare as numbers.
func encTime(field string, t time.Time) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return nil, fmt.Errorf("%s %s is outside the storable range (years 1678–2261)", field, t.Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// encTimeRequired is encTime for columns that must hold a time.
func encTimeRequired(field string, t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, fmt.Errorf("%s is not set", field)
	}
	v, err := encTime(field, t)
	if err != nil {
		return 0, err
	}
	return v.(int64), nil
}

// decTime reverses encTime, in UTC.
func decTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// encJSON stores raw JSON as TEXT, nil as NULL. TEXT rather than BLOB
// because the driver reads an empty BLOB back as nil, and an empty value
// must stay apart from a missing one.
func encJSON(raw json.RawMessage) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}

// decJSON reverses encJSON.
func decJSON(s sql.NullString) json.RawMessage {
	if !s.Valid {
		return nil
	}
	return json.RawMessage(s.String)
}

// encFloat refuses NaN, which SQLite would silently store as NULL.
func encFloat(field string, f float64) (float64, error) {
	if math.IsNaN(f) {
		return 0, fmt.Errorf("%s is NaN", field)
	}
	return f, nil
}
