// Package importer loads CRM exports into the store.
package importer
