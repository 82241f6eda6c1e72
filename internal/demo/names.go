package demo

import (
	"strconv"
	"strings"
)

// Word lists for people and companies. All names are made up; company domains
// use the reserved .example top-level domain, so no generated email address
// can reach anyone.

var firstNames = []string{
	"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
	"William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
	"Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Sandra", "Mark", "Margaret",
	"Donald", "Ashley", "Steven", "Kimberly", "Andrew", "Emily", "Paul", "Donna", "Joshua", "Michelle",
	"Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Melissa", "George", "Deborah", "Timothy", "Stephanie",
	"Ronald", "Rebecca", "Jason", "Sharon", "Edward", "Laura", "Jeffrey", "Cynthia", "Ryan", "Amy",
	"Jacob", "Kathleen", "Gary", "Angela", "Nicholas", "Shirley", "Eric", "Brenda", "Jonathan", "Emma",
	"Stephen", "Anna", "Larry", "Pamela", "Justin", "Nicole", "Scott", "Samantha", "Brandon", "Katherine",
	"Benjamin", "Christine", "Samuel", "Helen", "Gregory", "Debra", "Alexander", "Rachel", "Patrick", "Carolyn",
	"Frank", "Janet", "Raymond", "Maria", "Jack", "Catherine", "Dennis", "Heather", "Jerry", "Diane",
	"Tyler", "Olivia", "Aaron", "Julie", "Jose", "Joyce", "Adam", "Victoria", "Nathan", "Ruth",
	"Henry", "Virginia", "Zachary", "Lauren", "Douglas", "Kelly", "Peter", "Christina", "Kyle", "Joan",
	"Noah", "Evelyn", "Ethan", "Judith", "Jeremy", "Andrea", "Christian", "Hannah", "Walter", "Megan",
	"Keith", "Cheryl", "Austin", "Jacqueline", "Roger", "Martha", "Terry", "Madison", "Sean", "Teresa",
	"Gerald", "Gloria", "Carl", "Sara", "Dylan", "Janice", "Harold", "Ann", "Jordan", "Kathryn",
	"Jesse", "Abigail", "Bryan", "Sophia", "Lawrence", "Frances", "Arthur", "Jean", "Gabriel", "Alice",
	"Bruce", "Judy", "Logan", "Isabella", "Billy", "Julia", "Joe", "Grace", "Alan", "Amber",
	"Juan", "Denise", "Elijah", "Danielle", "Willie", "Marilyn", "Albert", "Beverly", "Wayne", "Charlotte",
	"Randy", "Natalie", "Mason", "Theresa", "Vincent", "Diana", "Liam", "Brittany", "Roy", "Doris",
	"Priya", "Wei", "Aisha", "Mateo", "Yuki", "Omar", "Lucia", "Arjun", "Mei", "Diego",
}

var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
	"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
	"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
	"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
	"Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
	"Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
	"Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
	"Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
	"Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
	"Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
	"Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes",
	"Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander", "Hamilton", "Graham",
	"Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes", "Bryant", "Herrera", "Gibson",
	"Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens",
	"Harrison", "Fernandez", "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas", "Henry", "Chen",
	"Freeman", "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson", "Porter", "Hunter",
	"Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason", "Dixon", "Munoz", "Hunt", "Hicks",
	"Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd", "Rose", "Stone", "Salazar", "Fox",
	"Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza", "Daniels", "Ferguson", "Nichols", "Stephens",
	"Soto", "Weaver", "Ryan", "Gardner", "Payne", "Grant", "Dunn", "Kelley", "Spencer", "Hawkins",
}

var companyPrefixes = []string{
	"Blue", "North", "Summit", "Cedar", "Harbor", "Iron", "Silver", "Granite", "Maple", "Pioneer",
	"River", "Eagle", "Oak", "Pine", "Stone", "Bright", "Clear", "Golden", "Red", "Green",
	"Lake", "Prairie", "Canyon", "Coastal", "Frontier", "Liberty", "Heritage", "Keystone", "Crescent", "Evergreen",
	"Sierra", "Atlas", "Apex", "Vertex", "Nova", "Orion", "Polaris", "Beacon", "Anchor", "Compass",
	"Falcon", "Hawk", "Willow", "Birch", "Aspen", "Sequoia", "Redwood", "Magnolia", "Juniper", "Cypress",
	"Bay", "Delta", "Mesa", "Ridge", "Highland", "Lowland", "Meadow", "Forest", "Sun", "Star",
	"Union", "Central", "Western", "Eastern", "Southern", "Northern", "United", "Allied", "First", "Premier",
	"True", "Bold", "Swift", "Noble", "Royal", "Crown", "Monarch", "Sentinel", "Guardian", "Patriot",
}

var companyCores = []string{
	"ridge", "point", "view", "field", "gate", "way", "stone", "brook", "wood", "crest",
	"line", "bridge", "port", "haven", "land", "mark", "path", "peak", "spring", "water",
	"vale", "ford", "ton", "wick", "shore", "hill", "star", "light", "wind", "rock",
	"side", "dale", "moor", "glen", "crown", "works", "stream", "bay", "cliff", "harbor",
}

// industries with their account weights, revenue per employee (USD) and the
// nouns company names in them end with.
var industries = []struct {
	name   string
	weight float64
	revPer float64
	nouns  []string
}{
	{"Technology", 15, 320_000, []string{"Software", "Systems", "Labs", "Technologies", "Digital"}},
	{"Healthcare", 12, 180_000, []string{"Health", "Medical", "Care", "Clinics"}},
	{"Financial Services", 10, 420_000, []string{"Bank", "Capital", "Financial", "Credit Union"}},
	{"Manufacturing", 12, 260_000, []string{"Manufacturing", "Industries", "Fabrication", "Components"}},
	{"Retail", 8, 210_000, []string{"Retail", "Stores", "Outfitters", "Market"}},
	{"Professional Services", 9, 190_000, []string{"Consulting", "Partners", "Advisors", "Associates"}},
	{"Education", 5, 120_000, []string{"Academy", "Learning", "College", "Schools"}},
	{"Real Estate", 5, 350_000, []string{"Properties", "Realty", "Estates", "Development"}},
	{"Transportation & Logistics", 6, 230_000, []string{"Logistics", "Freight", "Transport", "Shipping"}},
	{"Media & Entertainment", 3, 300_000, []string{"Media", "Studios", "Entertainment"}},
	{"Energy & Utilities", 3, 600_000, []string{"Energy", "Power", "Utilities", "Solar"}},
	{"Construction", 5, 240_000, []string{"Construction", "Builders", "Contractors"}},
	{"Hospitality", 3, 90_000, []string{"Hotels", "Hospitality", "Restaurants"}},
	{"Telecommunications", 2, 450_000, []string{"Telecom", "Networks", "Communications"}},
	{"Government", 1, 150_000, []string{"County Services", "Public Works"}},
	{"Non-profit", 1, 110_000, []string{"Foundation", "Alliance", "Trust"}},
}

var jobTitles = map[segment][]string{
	segSMB: {"Owner", "General Manager", "Office Manager", "Operations Manager", "Sales Manager", "Founder", "President", "Controller"},
	segMid: {"VP of Sales", "Director of Operations", "Sales Operations Manager", "IT Manager", "CFO", "Head of Revenue", "Sales Director", "Controller", "COO"},
	segEnt: {"Chief Revenue Officer", "VP Sales Operations", "Director of Revenue Operations", "Head of Sales Enablement", "VP of IT", "Procurement Manager", "Director of Finance", "Enterprise Architect", "Senior Sales Operations Analyst", "CIO"},
}

var leadTitles = []string{"Sales Manager", "Marketing Manager", "Owner", "Director of Sales", "Operations Analyst", "VP Sales", "Account Executive", "Revenue Operations Lead", "CFO", "IT Director", "Office Manager", "Consultant"}

// companyName returns the k-th distinct company name of an industry, its
// domain and a variant index of the name parts. Names are unique while k is
// below the number of part combinations; beyond it a number is appended.
func companyName(ind, k int) (name, domain string) {
	nouns := industries[ind].nouns
	radix := len(companyPrefixes) * len(companyCores) * len(nouns)
	n := k % radix
	// A multiplicative permutation spreads consecutive k over the name space.
	n = int((uint64(n)*7919 + uint64(ind)*104729) % uint64(radix))
	p := n % len(companyPrefixes)
	n /= len(companyPrefixes)
	c := n % len(companyCores)
	noun := nouns[n/len(companyCores)]
	base := companyPrefixes[p] + companyCores[c]
	name = base + " " + noun
	slug := slugOf(base + noun)
	if k >= radix {
		num := strconv.Itoa(k/radix + 1)
		name += " " + num
		slug += num
	}
	return name, slug + ".example"
}

// slugOf lower-cases s and keeps only its ASCII letters and digits.
func slugOf(s string) string {
	b := make([]byte, 0, len(s))
	for i := range len(s) {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b = append(b, c)
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		}
	}
	return string(b)
}

// emailLocal makes "first.last" from a person's name (ASCII letters only).
func emailLocal(first, last string) string {
	var b strings.Builder
	for _, s := range []string{first, ".", last} {
		for _, r := range strings.ToLower(s) {
			if (r >= 'a' && r <= 'z') || r == '.' {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}
