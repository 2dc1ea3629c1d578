package genius_test

import (
	"fmt"
	"log"
	"os"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/outcome"
)

func ExampleLoadDir() {
	sc, err := genius.LoadDir("../examples/domains/Laptop")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sc.Space.Name, len(sc.Space.Issues), "issues,", sc.Space.Cardinality(), "outcomes")
	o, err := sc.Space.Parse(map[string]string{"Laptop": "HP", "Harddisk": "60 Gb", "External Monitor": "19'' LCD"})
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range sc.Profiles {
		fmt.Printf("%s: u(%s) = %.5f, reserved %g, discount %g\n", p.Name, sc.Space.Format(o), p.Utility(o), p.Reserved, p.Discount)
	}
	// Output:
	// root 3 issues, 27 outcomes
	// laptop_buyer_utility: u(Laptop=HP, Harddisk=60 Gb, External Monitor=19'' LCD) = 1.00005, reserved 0, discount 0.42441038
	// laptop_seller_utility: u(Laptop=HP, Harddisk=60 Gb, External Monitor=19'' LCD) = 0.81511, reserved 0, discount 0.42441038
}

func ExampleWriteWebDomain() {
	s, err := outcome.NewSpace("jobs",
		outcome.NewDiscrete("lease car", "yes", "no"),
		outcome.NewInteger("days at home", 0, 2),
	)
	if err != nil {
		log.Fatal(err)
	}
	if err := genius.WriteWebDomain(os.Stdout, s); err != nil {
		log.Fatal(err)
	}
	// Output:
	// {
	//   "name": "jobs",
	//   "issuesValues": {
	//     "lease car": {
	//       "values": [
	//         "yes",
	//         "no"
	//       ]
	//     },
	//     "days at home": {
	//       "range": {
	//         "low": 0,
	//         "high": 2,
	//         "step": 1
	//       }
	//     }
	//   }
	// }
}
