package web

import (
	"context"
	"net/http"

	"github.com/quarterdeck/quarterdeck/internal/store"
)

// The core entities share one set of JSON handlers over store.Repo:
//   GET    /api/{things}          list (filters, limit, after, order)
//   POST   /api/{things}          create
//   GET    /api/{things}/{id}     read
//   PATCH  /api/{things}/{id}     change the fields given (PUT is accepted too)
//   DELETE /api/{things}/{id}     delete (204), or say why not

func (srv *Server) records(path string, list, create, get, update, del http.HandlerFunc) {
	srv.mux.HandleFunc("GET /api/"+path, srv.requireAPI(list))
	srv.mux.HandleFunc("GET /api/"+path+"/{id}", srv.requireAPI(get))
	if create != nil {
		srv.mux.HandleFunc("POST /api/"+path, srv.requireAPI(create))
	}
	if update != nil {
		srv.mux.HandleFunc("PATCH /api/"+path+"/{id}", srv.requireAPI(update))
		srv.mux.HandleFunc("PUT /api/"+path+"/{id}", srv.requireAPI(update))
	}
	srv.mux.HandleFunc("DELETE /api/"+path+"/{id}", srv.requireAPI(del))
}

func registerRecords[T any](srv *Server, path string, repo *store.Repo[T]) {
	srv.records(path, listHandler(srv, repo), createHandler(srv, repo), getHandler(srv, repo), updateHandler(srv, repo), deleteHandler(srv, repo))
}

func listHandler[T any](srv *Server, repo *store.Repo[T]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		lq, err := listQuery(r)
		if err != nil {
			srv.writeError(w, r, err)
			return
		}
		srv.writeCachedJSON(w, r, "list|"+r.URL.Path+"?"+r.URL.RawQuery, func(ctx context.Context) (any, error) {
			return repo.List(ctx, authOf(r).principal(), lq)
		})
	}
}

func getHandler[T any](srv *Server, repo *store.Repo[T]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			srv.writeError(w, r, err)
			return
		}
		v, err := repo.Get(r.Context(), authOf(r).principal(), id)
		if err != nil {
			srv.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// written runs after a record is stored and before the answer is sent
// (a lead is rescored when it or one of its events is written).
type written[T any] func(r *http.Request, v *T)

func createHandler[T any](srv *Server, repo *store.Repo[T], after ...written[T]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r)
		if err != nil {
			srv.writeError(w, r, err)
			return
		}
		v := new(T)
		if err := decodeInto(body, v); err != nil {
			srv.writeError(w, r, err)
			return
		}
		if err := repo.Create(r.Context(), authOf(r).principal(), v); err != nil {
			srv.writeError(w, r, err)
			return
		}
		for _, fn := range after {
			fn(r, v)
		}
		writeJSON(w, http.StatusCreated, v)
	}
}

func updateHandler[T any](srv *Server, repo *store.Repo[T], after ...written[T]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			srv.writeError(w, r, err)
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			srv.writeError(w, r, err)
			return
		}
		v, err := repo.Update(r.Context(), authOf(r).principal(), id, func(v *T) error { return decodeInto(body, v) })
		if err != nil {
			srv.writeError(w, r, err)
			return
		}
		for _, fn := range after {
			fn(r, v)
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func deleteHandler[T any](srv *Server, repo *store.Repo[T]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			srv.writeError(w, r, err)
			return
		}
		if err := repo.Delete(r.Context(), authOf(r).principal(), id); err != nil {
			srv.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
