// Package chat owns prompt templates: how a conversation becomes the text a
// chat model was trained on, with the special-token strings (such as
// "<|im_start|>") left in the text for the tokenizer to map as added tokens.
//
// Hugging Face models keep a Jinja chat template in tokenizer_config.json.
// This package does not run Jinja: it recognises the common template
// families by their markers and formats with built-in Go formatters (see
// Recognize), which covers the models the runtime supports. Names for
// ByName and New:
//
//   - plain: no template, the messages' text as is.
//   - chatml: <|im_start|>role\n...<|im_end|>\n (Qwen2 and many others).
//   - llama3: <|begin_of_text|><|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>.
//   - llama2: <s>[INST] <<SYS>>\n...\n<</SYS>>\n\n... [/INST] ... </s>.
//   - mistral: <s>[INST] ... [/INST]...</s>, without <<SYS>>.
//   - minicpm: <用户>...<AI>...
//   - gemma: <bos><start_of_turn>user\n...<end_of_turn>\n<start_of_turn>model\n.
//
// "auto" is not a template but a choice, made by Resolve and
// FromTokenizerConfig: the model's chat template when it has one, else
// plain.
//
// BOS: some families write the BOS token string into the text themselves
// (Template.AddsBOS). A caller adds the BOS id in front of the encoded
// prompt only when the model wants one (add_bos_token, see Config) and the
// template does not write it: AddBOS does that sum.
package chat

import (
	"errors"
	"fmt"
	"strings"
)

// Message is one turn of a conversation. Role is "system", "user" or
// "assistant" (chatml and llama3 pass any other role through as written).
type Message struct {
	Role, Content string
}

// Template formats conversations for one model family.
type Template interface {
	// Name is the family name, as ByName takes it.
	Name() string
	// Format returns the prompt text for msgs. With addGenerationPrompt,
	// the text ends with what opens the assistant's reply, for families
	// that have such a header.
	Format(msgs []Message, addGenerationPrompt bool) (string, error)
	// AddsBOS reports whether the formatted text begins with the BOS token
	// string, so that the caller must not add the BOS id again.
	AddsBOS() bool
}

// Special holds the special-token strings that templates write; empty
// fields take the family's usual ones ("<s>" and "</s>" for llama2 and
// mistral, "<|begin_of_text|>" for llama3, "<bos>" for gemma).
type Special struct {
	BOS, EOS string
}

// Names lists the template names New and ByName take, "auto" excluded.
func Names() []string {
	return []string{"chatml", "gemma", "llama2", "llama3", "minicpm", "mistral", "plain"}
}

// ErrUnrecognized is wrapped by the errors of a chat template that no
// built-in formatter recognises.
var ErrUnrecognized = errors.New("chat template not recognised")

// ByName returns the named template with the family's usual special tokens.
func ByName(name string) (Template, error) { return New(name, Special{}) }

// New returns the named template writing the special tokens sp.
func New(name string, sp Special) (Template, error) {
	def := func(s, d string) string {
		if s == "" {
			return d
		}
		return s
	}
	switch name {
	case "plain":
		return plain{}, nil
	case "chatml":
		return &chatML{}, nil
	case "llama3":
		return llama3{bos: def(sp.BOS, "<|begin_of_text|>")}, nil
	case "llama2":
		return inst{name: name, sys: true, bos: def(sp.BOS, "<s>"), eos: def(sp.EOS, "</s>")}, nil
	case "mistral":
		return inst{name: name, bos: def(sp.BOS, "<s>"), eos: def(sp.EOS, "</s>")}, nil
	case "minicpm":
		return miniCPM{}, nil
	case "gemma":
		return gemma{bos: def(sp.BOS, "<bos>")}, nil
	case "auto":
		return nil, fmt.Errorf("chat template \"auto\" depends on the model: use Resolve or FromTokenizerConfig")
	}
	return nil, fmt.Errorf("chat template %q is unknown (want auto or one of %s)", name, strings.Join(Names(), ", "))
}

// Recognize returns the built-in formatter for a Jinja chat template, by
// the first of these markers found in it, in this order:
//
//	<|start_header_id|>   llama3
//	<|im_start|>          chatml (a fixed system message the template
//	                      writes when the conversation has none, such as
//	                      Qwen2's "You are a helpful assistant.", is kept)
//	<start_of_turn>       gemma
//	<用户>                 minicpm
//	[INST] with <<SYS>>   llama2
//	[INST]                mistral
//
// tmpl may also be the JSON list of {"name", "template"} objects that
// tokenizer_config.json can hold; the one named "default" is used. A
// template with none of the markers gives an error wrapping
// ErrUnrecognized.
//
// The formatters reproduce the families' common templates, not every
// variant: tool calls, Llama-3.1's date preamble and Mistral's placement of
// the system message before the last user turn are not reproduced.
func Recognize(tmpl string, sp Special) (Template, error) {
	if named, ok, err := namedTemplates(tmpl); ok {
		if err != nil {
			return nil, err
		}
		tmpl = named
	}
	switch {
	case strings.Contains(tmpl, "<|start_header_id|>"):
		return New("llama3", sp)
	case strings.Contains(tmpl, "<|im_start|>"):
		return &chatML{defaultSystem: chatMLDefaultSystem(tmpl)}, nil
	case strings.Contains(tmpl, "<start_of_turn>"):
		return New("gemma", sp)
	case strings.Contains(tmpl, "<用户>"):
		return New("minicpm", sp)
	case strings.Contains(tmpl, "[INST]") && strings.Contains(tmpl, "<<SYS>>"):
		return New("llama2", sp)
	case strings.Contains(tmpl, "[INST]"):
		return New("mistral", sp)
	}
	return nil, fmt.Errorf("%w: it has none of the markers <|start_header_id|>, <|im_start|>, <start_of_turn>, <用户>, [INST]", ErrUnrecognized)
}

// AddBOS reports whether the caller should put the BOS id in front of the
// encoded prompt: when the model wants a BOS (add_bos_token, or the model's
// default when the config does not say) and t does not write it.
func AddBOS(t Template, modelWantsBOS bool) bool {
	return modelWantsBOS && !t.AddsBOS()
}

func noMessages() error { return errors.New("no messages to format") }

// checkRoles accepts an optional system message first, then user and
// assistant turns alternating from user, as the llama2, mistral and gemma
// templates demand.
func checkRoles(name string, msgs []Message) error {
	if len(msgs) == 0 {
		return noMessages()
	}
	_, hasSystem, turns := splitSystem(msgs)
	if len(turns) == 0 {
		return fmt.Errorf("messages: a system message alone; the %s template needs a user turn", name)
	}
	off := 0
	if hasSystem {
		off = 1
	}
	for i, m := range turns {
		want := "user"
		if i%2 == 1 {
			want = "assistant"
		}
		if m.Role != want {
			return fmt.Errorf("messages[%d]: role %q, want %q: the %s template takes an optional system message first, then user and assistant turns alternating from user", i+off, m.Role, want, name)
		}
	}
	return nil
}

// splitSystem returns the leading system message's content, if any, and
// the rest.
func splitSystem(msgs []Message) (string, bool, []Message) {
	if len(msgs) > 0 && msgs[0].Role == "system" {
		return msgs[0].Content, true, msgs[1:]
	}
	return "", false, msgs
}

// plain writes the messages' contents as they are, joined by blank lines.
type plain struct{}

func (plain) Name() string  { return "plain" }
func (plain) AddsBOS() bool { return false }
func (plain) Format(msgs []Message, _ bool) (string, error) {
	if len(msgs) == 0 {
		return "", noMessages()
	}
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = m.Content
	}
	return strings.Join(parts, "\n\n"), nil
}

// chatML writes <|im_start|>role\ncontent<|im_end|>\n per message, and
// <|im_start|>assistant\n as the generation prompt. defaultSystem, when set,
// is written as a system message before a conversation that has none.
type chatML struct {
	defaultSystem string
}

func (*chatML) Name() string  { return "chatml" }
func (*chatML) AddsBOS() bool { return false }
func (c *chatML) Format(msgs []Message, gen bool) (string, error) {
	if len(msgs) == 0 {
		return "", noMessages()
	}
	var b strings.Builder
	if c.defaultSystem != "" && msgs[0].Role != "system" {
		b.WriteString("<|im_start|>system\n" + c.defaultSystem + "<|im_end|>\n")
	}
	for i, m := range msgs {
		if m.Role == "" {
			return "", fmt.Errorf("messages[%d]: empty role", i)
		}
		b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
	}
	if gen {
		b.WriteString("<|im_start|>assistant\n")
	}
	return b.String(), nil
}

// chatMLDefaultSystem finds a fixed system message in a ChatML template: a
// template string literal '<|im_start|>system\n...<|im_end|>' whose text is
// plain (no quotes, braces or other template syntax). "" if none.
func chatMLDefaultSystem(tmpl string) string {
	const open = "<|im_start|>system"
	for rest := tmpl; ; {
		k := strings.Index(rest, open)
		if k < 0 {
			return ""
		}
		rest = rest[k+len(open):]
		body, ok := strings.CutPrefix(rest, "\n")
		if !ok {
			if body, ok = strings.CutPrefix(rest, `\n`); !ok {
				continue
			}
		}
		end := strings.Index(body, "<|im_end|>")
		if end <= 0 {
			continue
		}
		text := strings.ReplaceAll(body[:end], `\n`, "\n")
		if strings.ContainsAny(text, "'\"{}\\+%") {
			continue
		}
		return text
	}
}

// llama3 writes BOS, then <|start_header_id|>role<|end_header_id|>\n\n
// content<|eot_id|> per message (content trimmed of surrounding white
// space), and the assistant header as the generation prompt.
type llama3 struct {
	bos string
}

func (llama3) Name() string  { return "llama3" }
func (llama3) AddsBOS() bool { return true }
func (l llama3) Format(msgs []Message, gen bool) (string, error) {
	if len(msgs) == 0 {
		return "", noMessages()
	}
	var b strings.Builder
	b.WriteString(l.bos)
	for i, m := range msgs {
		if m.Role == "" {
			return "", fmt.Errorf("messages[%d]: empty role", i)
		}
		b.WriteString("<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n" + strings.TrimSpace(m.Content) + "<|eot_id|>")
	}
	if gen {
		b.WriteString("<|start_header_id|>assistant<|end_header_id|>\n\n")
	}
	return b.String(), nil
}

// inst is the [INST] family.
//
// llama2 (sys): every user turn is BOS + "[INST] " + content + " [/INST]",
// the first one's content prefixed with "<<SYS>>\n" + system +
// "\n<</SYS>>\n\n" when there is a system message, all trimmed of
// surrounding white space; every assistant turn is " " + trimmed content +
// " " + EOS.
//
// mistral: BOS once, then "[INST] " + content + " [/INST]" per user turn
// and content + EOS per assistant turn; a system message goes before the
// first user turn's content, followed by a blank line.
//
// The generation prompt is the "[/INST]" itself: addGenerationPrompt adds
// nothing.
type inst struct {
	name     string
	sys      bool
	bos, eos string
}

func (t inst) Name() string { return t.name }
func (inst) AddsBOS() bool  { return true }
func (t inst) Format(msgs []Message, _ bool) (string, error) {
	if err := checkRoles(t.name, msgs); err != nil {
		return "", err
	}
	system, hasSystem, turns := splitSystem(msgs)
	var b strings.Builder
	if !t.sys {
		b.WriteString(t.bos)
	}
	for i, m := range turns {
		content := m.Content
		if i == 0 && hasSystem {
			if t.sys {
				content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content
			} else {
				content = system + "\n\n" + content
			}
		}
		switch {
		case m.Role == "user" && t.sys:
			b.WriteString(t.bos + "[INST] " + strings.TrimSpace(content) + " [/INST]")
		case m.Role == "user":
			b.WriteString("[INST] " + content + " [/INST]")
		case t.sys:
			b.WriteString(" " + strings.TrimSpace(content) + " " + t.eos)
		default:
			b.WriteString(content + t.eos)
		}
	}
	return b.String(), nil
}

// miniCPM writes "<用户>" + content + "<AI>" per user turn and the bare
// content of assistant and system messages, all trimmed of surrounding
// white space. Every user turn ends with the "<AI>" that opens the reply,
// so addGenerationPrompt adds nothing. The tokenizer adds BOS.
type miniCPM struct{}

func (miniCPM) Name() string  { return "minicpm" }
func (miniCPM) AddsBOS() bool { return false }
func (miniCPM) Format(msgs []Message, _ bool) (string, error) {
	if len(msgs) == 0 {
		return "", noMessages()
	}
	var b strings.Builder
	for i, m := range msgs {
		content := strings.TrimSpace(m.Content)
		switch m.Role {
		case "user":
			b.WriteString("<用户>" + content + "<AI>")
		case "assistant", "system":
			b.WriteString(content)
		default:
			return "", fmt.Errorf("messages[%d]: role %q: the minicpm template takes system, user and assistant", i, m.Role)
		}
	}
	return b.String(), nil
}

// gemma writes BOS, then "<start_of_turn>" + role + "\n" + trimmed content +
// "<end_of_turn>\n" per turn, role "model" for the assistant, and
// "<start_of_turn>model\n" as the generation prompt. Gemma has no system
// role: a system message goes before the first user turn's content,
// followed by a blank line.
type gemma struct {
	bos string
}

func (gemma) Name() string  { return "gemma" }
func (gemma) AddsBOS() bool { return true }
func (g gemma) Format(msgs []Message, gen bool) (string, error) {
	if err := checkRoles("gemma", msgs); err != nil {
		return "", err
	}
	system, hasSystem, turns := splitSystem(msgs)
	var b strings.Builder
	b.WriteString(g.bos)
	for i, m := range turns {
		content := strings.TrimSpace(m.Content)
		if i == 0 && hasSystem {
			content = strings.TrimSpace(system) + "\n\n" + content
		}
		role := m.Role
		if role == "assistant" {
			role = "model"
		}
		b.WriteString("<start_of_turn>" + role + "\n" + content + "<end_of_turn>\n")
	}
	if gen {
		b.WriteString("<start_of_turn>model\n")
	}
	return b.String(), nil
}
