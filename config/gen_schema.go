//go:build ignore

// gen_schema writes zappy.schema.json from config.JSONSchema (go generate).
package main

import (
	"log"
	"os"

	"github.com/zappy-mon/zappy/config"
)

func main() {
	if err := os.WriteFile("zappy.schema.json", config.JSONSchema(), 0o644); err != nil {
		log.Fatal(err)
	}
}
