package api

import (
	"errors"
	"html/template"
	"net/http"
	"regexp"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/store"
)

// The survey page is what a customer opens from the "why did you leave"
// mail: no login, the token in the link is the key.
var surveyPage = template.Must(template.New("survey").Parse(`<!doctype html>
<html lang="ko"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>고객님의 의견</title>
<body style="font-family:sans-serif;max-width:32em;margin:2em auto">
{{if .Done}}<p>소중한 의견 감사합니다.</p>{{else}}
<h1>그동안 저희를 찾지 않으신 이유를 알려주세요</h1>
<form method="post">
{{range .Reasons}}<p><label><input type="radio" name="answer" value="{{.}}" required> {{.}}</label></p>{{end}}
<p><textarea name="comment" rows="4" cols="40" placeholder="하고 싶은 말씀"></textarea></p>
<p><button>보내기</button></p>
</form>{{end}}
</body></html>`))

// surveyReasons follow seed 003's reasons customers stop coming (ASQC).
var surveyReasons = []string{"직원이 무관심했어요", "제품이 마음에 들지 않았어요", "다른 매장이 더 좋았어요", "이사/지인 추천 등 다른 사정", "특별한 이유 없음"}

// surveyTokenPattern is the shape of the tokens dangol issues (base64url
// of random bytes); anything else is answered without a database lookup.
var surveyTokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

func surveyToken(r *http.Request) (string, error) {
	token := chi.URLParam(r, "token")
	if !surveyTokenPattern.MatchString(token) {
		return "", notFound("survey")
	}
	return token, nil
}

func (s *Server) surveyForm(w http.ResponseWriter, r *http.Request) {
	if _, err := surveyToken(r); err != nil {
		renderError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = surveyPage.Execute(w, map[string]any{"Reasons": surveyReasons})
}

func (s *Server) surveyAnswer(w http.ResponseWriter, r *http.Request) {
	token, err := surveyToken(r)
	if err != nil {
		renderError(w, r, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			renderError(w, r, decodeProblem(err))
			return
		}
		renderError(w, r, badField("body", "must be form-encoded"))
		return
	}
	if err := checkForm(r.PostForm); err != nil {
		renderError(w, r, err)
		return
	}
	answer := strings.TrimSpace(r.PostForm.Get("answer"))
	if answer == "" {
		renderError(w, r, badField("answer", "is required"))
		return
	}
	if err := checkLength("answer", answer, 200); err != nil {
		renderError(w, r, err)
		return
	}
	if c := strings.TrimSpace(r.PostForm.Get("comment")); c != "" {
		if err := checkLength("comment", c, 2000); err != nil {
			renderError(w, r, err)
			return
		}
		answer += ": " + c
	}
	err = s.Store.AnswerSurvey(r.Context(), token, answer)
	if errors.Is(err, store.ErrNotFound) {
		renderError(w, r, notFound("survey"))
		return
	} else if err != nil {
		renderError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = surveyPage.Execute(w, map[string]any{"Done": true})
}
