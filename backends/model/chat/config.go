package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Config is what a Hugging Face tokenizer_config.json says about prompts.
type Config struct {
	// File is the name the config was read under, for messages.
	File string
	// ChatTemplate is the Jinja chat template: the "chat_template" string,
	// or the template named "default" when it is a list; "" if none.
	ChatTemplate string
	// Named holds every template of the list form by name (nil for the
	// string form).
	Named map[string]string
	// BOSToken and EOSToken are the special-token strings ("" when absent).
	BOSToken, EOSToken string
	// AddBOSToken and AddEOSToken are add_bos_token and add_eos_token (nil
	// when absent or null: the tokenizer's default then applies).
	AddBOSToken, AddEOSToken *bool
}

// LoadConfig reads a tokenizer_config.json.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(data, path)
}

// ParseConfig parses the contents of a tokenizer_config.json; name is used
// in errors and kept in Config.File. Keys other than chat_template,
// bos_token, eos_token, add_bos_token and add_eos_token are ignored.
func ParseConfig(data []byte, name string) (*Config, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object: %v", name, err)
	}
	c := &Config{File: name}
	if v := raw["chat_template"]; !isNull(v) {
		var s string
		var list []namedTemplate
		switch {
		case json.Unmarshal(v, &s) == nil:
			c.ChatTemplate = s
		case json.Unmarshal(v, &list) == nil:
			c.Named = map[string]string{}
			for i, t := range list {
				if t.Name == nil || t.Template == nil {
					return nil, fmt.Errorf("%s: chat_template[%d]: want {\"name\": ..., \"template\": ...}, got %s", name, i, short(list[i].raw))
				}
				if _, dup := c.Named[*t.Name]; dup {
					return nil, fmt.Errorf("%s: chat_template[%d]: duplicate name %q", name, i, *t.Name)
				}
				c.Named[*t.Name] = *t.Template
			}
			c.ChatTemplate = c.Named["default"]
		default:
			return nil, fmt.Errorf("%s: chat_template: want a string or a list of {\"name\", \"template\"}, got %s", name, short(v))
		}
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"bos_token", &c.BOSToken}, {"eos_token", &c.EOSToken}} {
		v := raw[f.key]
		if isNull(v) {
			continue
		}
		var obj struct {
			Content *string `json:"content"`
		}
		if json.Unmarshal(v, f.dst) != nil {
			if json.Unmarshal(v, &obj) != nil || obj.Content == nil {
				return nil, fmt.Errorf("%s: %s: want a string or {\"content\": ...}, got %s", name, f.key, short(v))
			}
			*f.dst = *obj.Content
		}
	}
	for _, f := range []struct {
		key string
		dst **bool
	}{{"add_bos_token", &c.AddBOSToken}, {"add_eos_token", &c.AddEOSToken}} {
		v := raw[f.key]
		if isNull(v) {
			continue
		}
		var b bool
		if json.Unmarshal(v, &b) != nil {
			return nil, fmt.Errorf("%s: %s: want true or false, got %s", name, f.key, short(v))
		}
		*f.dst = &b
	}
	return c, nil
}

// namedTemplate is one entry of the list form of chat_template.
type namedTemplate struct {
	Name     *string `json:"name"`
	Template *string `json:"template"`
	raw      json.RawMessage
}

func (t *namedTemplate) UnmarshalJSON(b []byte) error {
	type plain namedTemplate
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*t = namedTemplate(p)
	t.raw = append(json.RawMessage(nil), b...)
	return nil
}

// namedTemplates reads tmpl as the list form of chat_template, as a caller
// may hold it raw: ok reports whether it is one, and the result is its
// "default" template.
func namedTemplates(tmpl string) (string, bool, error) {
	s := strings.TrimSpace(tmpl)
	if !strings.HasPrefix(s, "[") {
		return "", false, nil
	}
	var list []namedTemplate
	if json.Unmarshal([]byte(s), &list) != nil {
		return "", false, nil
	}
	var names []string
	for _, t := range list {
		if t.Name == nil || t.Template == nil {
			return "", false, nil
		}
		if *t.Name == "default" {
			return *t.Template, true, nil
		}
		names = append(names, *t.Name)
	}
	return "", true, fmt.Errorf("%w: the list of chat templates (%s) has none named \"default\"", ErrUnrecognized, strings.Join(names, ", "))
}

// Special returns the special-token strings of the config.
func (c *Config) Special() Special { return Special{BOS: c.BOSToken, EOS: c.EOSToken} }

// Template returns the formatter for the config's chat template: Plain when
// there is none, an error wrapping ErrUnrecognized and naming the file when
// there is one that Recognize does not know (or a list without a "default").
func (c *Config) Template() (Template, error) {
	if c.ChatTemplate == "" {
		if len(c.Named) > 0 {
			names := make([]string, 0, len(c.Named))
			for n := range c.Named {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("%s: %w: the list of chat templates (%s) has none named \"default\"", c.File, ErrUnrecognized, strings.Join(names, ", "))
		}
		return plain{}, nil
	}
	t, err := Recognize(c.ChatTemplate, c.Special())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.File, err)
	}
	return t, nil
}

// FromTokenizerConfig reads a tokenizer_config.json and returns the
// formatter for its chat template (Plain when it has none: this is "auto")
// with the config.
//
// When the file has a chat template that no built-in formatter recognises,
// the error wraps ErrUnrecognized and names the file, and the config is
// still returned: callers may then fall back to Plain with a warning,
//
//	t, cfg, err := chat.FromTokenizerConfig(path)
//	if errors.Is(err, chat.ErrUnrecognized) {
//		log.Printf("%v; using the plain template", err)
//		t, err = chat.Plain(), nil
//	}
func FromTokenizerConfig(path string) (Template, *Config, error) {
	c, err := LoadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	t, err := c.Template()
	return t, c, err
}

// Resolve picks the template a user asked for by name for the model whose
// tokenizer_config.json is at configPath (which may not exist: the config
// is then nil). "auto" (or "") is FromTokenizerConfig, or Plain without a
// config file; any other name is New with the config's special tokens.
func Resolve(name, configPath string) (Template, *Config, error) {
	c, err := LoadConfig(configPath)
	if errors.Is(err, os.ErrNotExist) {
		c, err = nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if name == "" || name == "auto" {
		if c == nil {
			return plain{}, nil, nil
		}
		t, err := c.Template()
		return t, c, err
	}
	var sp Special
	if c != nil {
		sp = c.Special()
	}
	t, err := New(name, sp)
	return t, c, err
}

// Plain returns the plain template: the messages' text as is.
func Plain() Template { return plain{} }

// ConfigPath is the tokenizer_config.json of a Hugging Face model directory.
func ConfigPath(modelDir string) string { return filepath.Join(modelDir, "tokenizer_config.json") }

func isNull(v json.RawMessage) bool {
	s := strings.TrimSpace(string(v))
	return s == "" || s == "null"
}

// short gives a JSON value for a message, cut to 40 characters.
func short(v json.RawMessage) string {
	s := []rune(strings.TrimSpace(string(v)))
	if len(s) > 40 {
		return string(s[:37]) + "..."
	}
	return string(s)
}
