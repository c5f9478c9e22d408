package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/evalctl/evalctl/backends/lm"
)

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data":   []model{{ID: s.opts.ModelName, Object: "model", OwnedBy: "evalctl"}},
	})
}

func (s *Server) newID(prefix string) string {
	return prefix + strconv.FormatUint(s.ids.Add(1), 10)
}

func strp(s string) *string { return &s }

// generation is a validated generation request of either endpoint.
type generation struct {
	chat         bool
	req          lm.GenerateRequest
	stream       bool
	includeUsage bool
	echo         string // completions with echo: the prompt, put before the text
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	var req completionRequest
	if err := s.decode(w, r, &req); err != nil {
		writeErr(w, err)
		return
	}
	g, score, err := s.checkCompletion(&req)
	if err != nil {
		writeErr(w, err)
		return
	}
	release, ok := s.acquire(ctx, w)
	if !ok {
		return
	}
	defer release()
	if score {
		s.answerScore(ctx, w, g.req.Prompt, req.Logprobs)
		return
	}
	s.generate(ctx, w, g)
}

// checkCompletion validates a completions request; score is true for an
// echo+max_tokens=0 request (scoring, or a plain echo when logprobs is
// not set).
func (s *Server) checkCompletion(req *completionRequest) (g *generation, score bool, err error) {
	if err := s.checkCommon(req.Model, req.Temperature, req.N); err != nil {
		return nil, false, err
	}
	prompt, err := parsePromptField(req.Prompt)
	if err != nil {
		return nil, false, err
	}
	stop, err := parseStop(req.Stop)
	if err != nil {
		return nil, false, err
	}
	maxTok, err := s.maxTokens(req.MaxTokens)
	if err != nil {
		return nil, false, err
	}
	if req.Logprobs != nil && *req.Logprobs < 0 {
		return nil, false, invalid("logprobs %d: want 0 or more", *req.Logprobs)
	}
	g = &generation{req: lm.GenerateRequest{Prompt: prompt, MaxTokens: maxTok, Stop: stop}, stream: req.Stream}
	g.includeUsage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	if req.Echo && maxTok == 0 {
		if req.Stream {
			return nil, false, invalid("stream: echo with max_tokens 0 (prompt scoring) is answered in one piece; send stream false")
		}
		return g, true, nil
	}
	if maxTok == 0 {
		return nil, false, invalid("max_tokens 0: want at least 1 (0 is for scoring a prompt, with echo true)")
	}
	if req.Logprobs != nil {
		return nil, false, invalid("logprobs: this server gives log-probabilities of prompt tokens only (echo true, max_tokens 0)")
	}
	if req.Echo {
		g.echo = prompt
	}
	return g, false, nil
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	var req chatRequest
	if err := s.decode(w, r, &req); err != nil {
		writeErr(w, err)
		return
	}
	g, err := s.checkChat(&req)
	if err != nil {
		writeErr(w, err)
		return
	}
	release, ok := s.acquire(ctx, w)
	if !ok {
		return
	}
	defer release()
	s.generate(ctx, w, g)
}

func (s *Server) checkChat(req *chatRequest) (*generation, error) {
	if err := s.checkCommon(req.Model, req.Temperature, req.N); err != nil {
		return nil, err
	}
	if req.Logprobs != nil && *req.Logprobs {
		return nil, invalid("logprobs: not supported for chat completions")
	}
	prompt, err := chatPrompt(req.Messages)
	if err != nil {
		return nil, err
	}
	stop, err := parseStop(req.Stop)
	if err != nil {
		return nil, err
	}
	maxTok, err := s.maxTokens(req.MaxCompletionTokens, req.MaxTokens)
	if err != nil {
		return nil, err
	}
	if maxTok == 0 {
		return nil, invalid("max_tokens 0: want at least 1")
	}
	g := &generation{chat: true, req: lm.GenerateRequest{Prompt: prompt, MaxTokens: maxTok, Stop: stop}, stream: req.Stream}
	g.includeUsage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	return g, nil
}

// cutStop cuts text before the first stop string. The model should have
// done it; doing it again guards the wire format.
func cutStop(text string, stop []string) (string, bool) {
	cut := -1
	for _, st := range stop {
		if i := strings.Index(text, st); st != "" && i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut < 0 {
		return text, false
	}
	return text[:cut], true
}

func finishReason(resp *lm.GenerateResponse, cut bool) string {
	if cut || resp.FinishReason == "" {
		return "stop"
	}
	return resp.FinishReason
}

// modelError writes an error of the model, unless the client is gone.
func modelError(ctx context.Context, w http.ResponseWriter, err error) {
	if ctx.Err() != nil {
		writeError(w, http.StatusServiceUnavailable, "the request was cancelled: "+err.Error())
		return
	}
	var br *badRequest
	if errors.As(err, &br) {
		writeErr(w, err)
		return
	}
	writeError(w, http.StatusInternalServerError, "the model failed: "+err.Error())
}

// generate answers a generation request, whole or streamed.
func (s *Server) generate(ctx context.Context, w http.ResponseWriter, g *generation) {
	if g.stream {
		s.stream(ctx, w, g)
		return
	}
	resp, err := s.model.Generate(ctx, &g.req)
	if err != nil {
		modelError(ctx, w, err)
		return
	}
	text, cut := cutStop(resp.Text, g.req.Stop)
	finish := finishReason(resp, cut)
	usage := newUsage(resp.PromptTokens, resp.OutputTokens)
	created := time.Now().Unix()
	if g.chat {
		writeJSON(w, http.StatusOK, chatResponse{
			ID: s.newID("chatcmpl-"), Object: "chat.completion", Created: created, Model: s.opts.ModelName,
			Choices: []chatChoice{{Message: &chatMessageOut{Role: "assistant", Content: text}, FinishReason: &finish}},
			Usage:   usage,
		})
		return
	}
	writeJSON(w, http.StatusOK, completionResponse{
		ID: s.newID("cmpl-"), Object: "text_completion", Created: created, Model: s.opts.ModelName,
		Choices: []completionChoice{{Text: g.echo + text, FinishReason: &finish}},
		Usage:   usage,
	})
}

// stream answers a generation request with server-sent events.
func (s *Server) stream(ctx context.Context, w http.ResponseWriter, g *generation) {
	sw := newSSE(w)
	created := time.Now().Unix()
	prefix := "cmpl-"
	if g.chat {
		prefix = "chatcmpl-"
	}
	id := s.newID(prefix)
	chunk := func(text string, finish *string, usage *usageWire, noChoice bool) error {
		if g.chat {
			c := chatResponse{ID: id, Object: "chat.completion.chunk", Created: created, Model: s.opts.ModelName, Usage: usage, Choices: []chatChoice{}}
			if !noChoice {
				d := &chatDelta{}
				if finish == nil {
					d.Content = &text
				}
				c.Choices = append(c.Choices, chatChoice{Delta: d, FinishReason: finish})
			}
			return sw.event(c)
		}
		c := completionResponse{ID: id, Object: "text_completion", Created: created, Model: s.opts.ModelName, Usage: usage, Choices: []completionChoice{}}
		if !noChoice {
			c.Choices = append(c.Choices, completionChoice{Text: text, FinishReason: finish})
		}
		return sw.event(c)
	}
	if g.chat {
		role := chatResponse{ID: id, Object: "chat.completion.chunk", Created: created, Model: s.opts.ModelName,
			Choices: []chatChoice{{Delta: &chatDelta{Role: "assistant", Content: strp("")}}}}
		if sw.event(role) != nil {
			return
		}
	}
	if g.echo != "" && chunk(g.echo, nil, nil, false) != nil {
		return
	}
	var sent strings.Builder
	emit := func(text string) error {
		if text == "" {
			return nil
		}
		sent.WriteString(text)
		return chunk(text, nil, nil, false)
	}
	var resp *lm.GenerateResponse
	var err error
	if st, ok := s.model.(Streamer); ok {
		resp, err = st.GenerateStream(ctx, &g.req, emit)
	} else {
		resp, err = s.model.Generate(ctx, &g.req)
	}
	if err != nil {
		if ctx.Err() == nil && sw.err == nil {
			sw.event(newErrorBody(http.StatusInternalServerError, "the model failed: "+err.Error()))
		}
		return
	}
	text, cut := cutStop(resp.Text, g.req.Stop)
	if !strings.HasPrefix(text, sent.String()) {
		sw.event(newErrorBody(http.StatusInternalServerError, "the model streamed text that is not the start of its completion"))
		return
	}
	if rest := text[sent.Len():]; rest != "" && chunk(rest, nil, nil, false) != nil {
		return
	}
	finish := finishReason(resp, cut)
	if chunk("", &finish, nil, false) != nil {
		return
	}
	if g.includeUsage && chunk("", nil, newUsage(resp.PromptTokens, resp.OutputTokens), true) != nil {
		return
	}
	sw.done()
}

// answerScore answers echo+max_tokens=0: the prompt, and with logprobs set
// the log-probability of each prompt token.
func (s *Server) answerScore(ctx context.Context, w http.ResponseWriter, prompt string, logprobs *int) {
	resp := completionResponse{ID: s.newID("cmpl-"), Object: "text_completion", Created: time.Now().Unix(), Model: s.opts.ModelName}
	finish := "length"
	choice := completionChoice{Text: prompt, FinishReason: &finish}
	if logprobs == nil {
		ids, err := s.model.Tokenize(ctx, prompt)
		if err != nil {
			modelError(ctx, w, err)
			return
		}
		resp.Usage = newUsage(len(ids), 0)
	} else {
		lp, err := s.score(ctx, prompt)
		if err != nil {
			modelError(ctx, w, err)
			return
		}
		choice.Logprobs = lp
		resp.Usage = newUsage(len(lp.Tokens), 0)
	}
	resp.Choices = []completionChoice{choice}
	writeJSON(w, http.StatusOK, resp)
}

// score computes the logprobs block of an echoed prompt.
func (s *Server) score(ctx context.Context, prompt string) (*logprobsWire, error) {
	if ps, ok := s.model.(PromptScorer); ok {
		sc, err := ps.ScorePrompt(ctx, prompt)
		if err != nil {
			return nil, err
		}
		n := len(sc.Tokens)
		if len(sc.Logprobs) != n || len(sc.Top) != n || len(sc.TopLogprobs) != n {
			return nil, fmt.Errorf("the model's prompt score has %d tokens, %d logprobs, %d top tokens and %d top logprobs", n, len(sc.Logprobs), len(sc.Top), len(sc.TopLogprobs))
		}
		lp := &logprobsWire{Tokens: sc.Tokens, TokenLogprobs: make([]*float64, n), TopLogprobs: make([]map[string]float64, n), TextOffset: offsets(sc.Tokens)}
		for i := 1; i < n; i++ {
			lp.TokenLogprobs[i] = &sc.Logprobs[i]
			top := map[string]float64{sc.Top[i]: sc.TopLogprobs[i]}
			if sc.Tokens[i] != sc.Top[i] {
				top[sc.Tokens[i]] = sc.Logprobs[i]
			}
			lp.TopLogprobs[i] = top
		}
		return lp, nil
	}
	if s.opts.Tokenizer == nil {
		return nil, invalid("logprobs: this server cannot score prompts: its model does not implement PromptScorer and no tokenizer was configured")
	}
	ll, err := s.model.Loglikelihood(ctx, &lm.LoglikelihoodRequest{Continuation: prompt, TokenLogprobs: true})
	if err != nil {
		return nil, err
	}
	ids := s.opts.Tokenizer.Encode(prompt)
	if ll.Tokens != len(ids) || len(ll.TokenLogprobs) != len(ids) || ll.ContextTokens < 0 {
		return nil, fmt.Errorf("the tokenizer gives %d tokens for the prompt, the model scored %d (%d log-probabilities)", len(ids), ll.Tokens, len(ll.TokenLogprobs))
	}
	pieces := tokenPieces(s.opts.Tokenizer, ids)
	n := ll.ContextTokens + len(ids)
	lp := &logprobsWire{Tokens: make([]string, ll.ContextTokens, n), TokenLogprobs: make([]*float64, ll.ContextTokens, n)}
	lp.Tokens = append(lp.Tokens, pieces...)
	for i := range ll.TokenLogprobs {
		lp.TokenLogprobs = append(lp.TokenLogprobs, &ll.TokenLogprobs[i])
	}
	lp.TextOffset = offsets(lp.Tokens)
	if ll.Greedy {
		lp.TopLogprobs = make([]map[string]float64, n)
		for i := ll.ContextTokens; i < n; i++ {
			lp.TopLogprobs[i] = map[string]float64{lp.Tokens[i]: *lp.TokenLogprobs[i]}
		}
	}
	return lp, nil
}

// offsets returns the offset of each token's text in code points.
func offsets(tokens []string) []int {
	out := make([]int, len(tokens))
	off := 0
	for i, t := range tokens {
		out[i] = off
		off += utf8.RuneCountInString(t)
	}
	return out
}

// tokenPieces gives the text of each token so that the pieces join to the
// decoded text: a token is decoded after a few tokens of context (leading
// spaces that decoders strip at the start of a text stay right), and a
// token ending inside a UTF-8 sequence gives "" while the next ones carry
// the completed character.
func tokenPieces(t TextTokenizer, ids []int) []string {
	const ctxTokens, maxPending = 4, 16
	out := make([]string, len(ids))
	start := 0 // first token whose text is not out yet
	for i := range ids {
		lo := max(0, start-ctxTokens)
		prev := t.Decode(ids[lo:start])
		cur := t.Decode(ids[lo : i+1])
		if !strings.HasPrefix(cur, prev) {
			continue
		}
		piece := cur[len(prev):]
		if strings.HasSuffix(piece, "\uFFFD") && i+1 < len(ids) && i-start < maxPending {
			continue
		}
		out[i] = piece
		start = i + 1
	}
	if start < len(ids) {
		lo := max(0, start-ctxTokens)
		prev := t.Decode(ids[lo:start])
		cur := t.Decode(ids[lo:])
		out[len(ids)-1] = strings.TrimPrefix(cur, prev)
	}
	return out
}

func (s *Server) handleTokenize(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	var req tokenizeRequest
	if err := s.decode(w, r, &req); err != nil {
		writeErr(w, err)
		return
	}
	if req.Model != "" && req.Model != s.opts.ModelName {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %q does not exist; this server has %q", req.Model, s.opts.ModelName))
		return
	}
	if req.AddSpecialTokens != nil && !*req.AddSpecialTokens {
		writeError(w, http.StatusBadRequest, "add_special_tokens false: the served model's ids always include its template and special tokens")
		return
	}
	var prompt string
	switch {
	case req.Prompt != nil:
		prompt = *req.Prompt
	case req.Content != nil:
		prompt = *req.Content
	case req.Messages != nil:
		p, err := chatPrompt(req.Messages)
		if err != nil {
			writeErr(w, err)
			return
		}
		prompt = p
	default:
		writeError(w, http.StatusBadRequest, "prompt: required (or messages)")
		return
	}
	ids, err := s.model.Tokenize(ctx, prompt)
	if err != nil {
		modelError(ctx, w, err)
		return
	}
	if ids == nil {
		ids = []int{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": ids, "count": len(ids), "model": s.opts.ModelName})
}
