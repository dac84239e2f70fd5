package codec_test

import (
	"fmt"

	"github.com/klepto-sql/klepto/codec"
)

func Example() {
	type page struct {
		Title string
		Views int
	}
	c, err := codec.Parse("json")
	if err != nil {
		fmt.Println(err)
		return
	}
	data, err := codec.Encode(c, page{Title: "Fish & chips <today>", Views: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c, c.Binary(), string(data))

	var p page
	if err := codec.Decode(c, data, &p); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v\n", p)

	fmt.Println(codec.Check[page](codec.Raw))
	// Output:
	// json false {"Title":"Fish & chips <today>","Views":3}
	// {Title:Fish & chips <today> Views:3}
	// codec: raw stores []byte values, not codec_test.page; use json or gob
}
