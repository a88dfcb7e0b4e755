// The Go example: an HTTP service that reads the connections choreo-run injected.
// Secret values are never printed, only their lengths.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

var names = []string{
	"CHOREO_BOOK_CATALOG_SERVICEURL",
	"CHOREO_BOOK_CATALOG_CONSUMERKEY",
	"CHOREO_INVENTORY_CACHE_HOSTNAME",
	"CHOREO_INVENTORY_CACHE_PORT",
}

var secrets = []string{"CHOREO_BOOK_CATALOG_CONSUMERSECRET", "CACHE_PASSWORD"}

func describe() string {
	text := ""
	for _, name := range names {
		text += fmt.Sprintf("%s=%s\n", name, os.Getenv(name))
	}
	for _, name := range secrets {
		text += fmt.Sprintf("%s: %d characters\n", name, len(os.Getenv(name)))
	}
	return text
}

func main() {
	fmt.Print(describe())
	if len(os.Args) > 1 && os.Args[1] == "--once" {
		return
	}
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, describe()) })
	log.Fatal(http.ListenAndServe(":8080", nil))
}
