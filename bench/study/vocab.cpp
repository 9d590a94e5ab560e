// The benchmark's fixed word lists: names (gendered), places, jobs, foods, ... and filler sentences.
// Not random: every list is built into the code so that a seed names the same users everywhere.
// The vocabulary is deliberately modest (a few hundred words) for bases with a 1-2k-token BPE.
#include <map>

#include "bench/study/generator_detail.h"
#include "runtime/error.h"

namespace edgellm::study::detail {

const Words& male_names() {
  static const Words w = {"Paul",  "Marco", "David",  "Tom",   "Lukas", "Omar",  "Ivan",  "Pedro",
                          "Jonas", "Leo",   "Felix",  "Samuel", "Hugo", "Oscar", "Victor", "Daniel",
                          "Mateo", "Karl",  "Simon",  "Adam",  "Ben",   "Nico",  "Theo",  "Erik",
                          "Luca",  "Jan",   "Ali",    "Rafael", "George", "Anton"};
  return w;
}

const Words& female_names() {
  static const Words w = {"Maria", "Anna",  "Sofia", "Emma",  "Lena",  "Clara", "Nina",  "Julia",
                          "Eva",   "Laura", "Mia",   "Sara",  "Alice", "Rosa",  "Ida",   "Hannah",
                          "Lucia", "Olga",  "Vera",  "Zoe",   "Elena", "Ines",  "Marta", "Nora",
                          "Lisa",  "Amira", "Chloe", "Petra", "Greta", "Ruth"};
  return w;
}

const Words& surnames() {
  static const Words w = {"Smith",  "Novak",   "Berg",   "Rossi",  "Garcia", "Meyer",  "Okafor", "Silva",
                          "Jensen", "Kim",     "Dubois", "Kowal",  "Moreau", "Fischer", "Costa", "Lind",
                          "Tanaka", "Brown",   "Weber",  "Hansen", "Lopez",  "Bauer",  "Nowak", "Popescu",
                          "Walsh",  "Horvat",  "Santos", "Klein",  "Marin",  "Olsen",  "Reyes", "Varga",
                          "Young",  "Petrov",  "Haddad", "Ferrari", "Murphy", "Svoboda", "Dahl", "Ortega",
                          "Lange",  "Mendes",  "Quinn",  "Sato",   "Barros", "Keller", "Rahman", "Wolf"};
  return w;
}

static Words day_parts() {
  Words out;
  for (const char* d : {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})
    for (const char* p : {"morning", "afternoon", "evening"}) out.push_back(std::string(d) + " " + p);
  return out;
}

static Words classes() {
  Words out;
  for (const char* a : {"yoga", "pottery", "dance", "boxing", "singing", "cooking", "drawing", "judo"})
    for (const auto& dp : day_parts()) out.push_back(std::string(a) + " on " + dp);
  return out;
}

static Words cars() {
  Words out;
  for (const char* c : {"red", "blue", "green", "black", "white", "grey", "yellow", "silver"})
    for (const char* b : {"volvo", "fiat", "toyota", "skoda", "renault", "ford", "honda", "kia"})
      out.push_back(std::string("a ") + c + " " + b);
  return out;
}

const Words& values_of(const std::string& list) {
  static const std::map<std::string, Words> lists = {
      {"city", {"oslo", "rome", "lisbon", "berlin", "paris", "madrid", "vienna", "prague", "dublin", "athens",
                "warsaw", "helsinki", "zurich", "lyon", "porto", "milan", "munich", "krakow", "seville",
                "bergen", "turin", "gdansk", "leeds", "bristol", "hamburg"}},
      {"job", {"nurse", "teacher", "engineer", "baker", "lawyer", "pilot", "plumber", "architect", "dentist",
               "farmer", "chef", "librarian", "electrician", "pharmacist", "journalist", "designer",
               "accountant", "mechanic", "gardener", "firefighter", "painter", "translator", "programmer",
               "doctor", "waiter"}},
      {"employer", {"the blue bakery", "the city library", "a small bank", "the central hospital",
                    "the green garage", "a big hotel", "the old theatre", "the north school",
                    "a shipping company", "the town hall", "a law firm", "the red cafe", "the flower market",
                    "a software company", "the train station", "the local newspaper"}},
      {"species", {"dog", "cat", "rabbit", "parrot", "hamster", "turtle", "goldfish", "horse", "lizard",
                   "guinea pig"}},
      {"petname", {"milo", "bella", "rex", "luna", "coco", "pepper", "biscuit", "shadow", "ziggy", "poppy",
                   "nemo", "tiger", "olive", "bruno", "pixel", "mango", "toffee", "bubbles", "whiskers",
                   "fluffy"}},
      {"hobby", {"painting", "gardening", "chess", "knitting", "fishing", "photography", "baking bread",
                 "bird watching", "rock climbing", "playing cards", "pottery", "hiking in the hills",
                 "writing poems", "building model trains", "collecting stamps", "dancing salsa"}},
      {"sport", {"tennis", "football", "basketball", "volleyball", "golf", "badminton", "rugby", "hockey",
                 "table tennis", "squash"}},
      {"food", {"spaghetti with clams", "chicken curry", "mushroom risotto", "fish and chips", "lentil soup",
                "beef stew", "vegetable lasagna", "sushi", "pizza with olives", "tomato salad",
                "roast potatoes", "pancakes with honey", "fried rice", "onion tart", "lamb kebab",
                "cheese dumplings"}},
      {"drink", {"green tea", "black coffee", "orange juice", "hot chocolate", "mint tea", "lemonade",
                 "apple juice", "cold milk", "sparkling water", "iced coffee", "ginger beer", "cherry juice"}},
      {"colour", {"red", "blue", "green", "yellow", "purple", "orange", "black", "white", "pink", "brown",
                  "grey", "turquoise"}},
      {"music", {"jazz", "rock", "classical music", "folk songs", "hip hop", "reggae", "blues", "opera",
                 "techno", "country music", "pop songs", "punk"}},
      {"book", {"crime novels", "science fiction", "old poetry", "travel books", "history books",
                "comic books", "fantasy stories", "cookbooks", "love stories", "biographies"}},
      {"film", {"horror films", "comedies", "westerns", "cartoons", "war films", "documentaries", "musicals",
                "spy films"}},
      {"season", {"spring", "summer", "autumn", "winter"}},
      {"fruit", {"apples", "mangos", "cherries", "bananas", "pears", "grapes", "plums", "peaches",
                 "strawberries", "melons"}},
      {"flower", {"roses", "tulips", "sunflowers", "daisies", "lilies", "orchids"}},
      {"dessert", {"apple pie", "chocolate cake", "lemon tart", "ice cream", "rice pudding", "cheesecake",
                   "fruit salad", "honey cake"}},
      {"restaurant", {"the golden lamp", "the little pearl", "the old mill", "the blue door",
                      "the silver spoon", "the red lantern", "the green olive", "the happy cow"}},
      {"instrument", {"piano", "guitar", "violin", "drums", "flute", "cello", "trumpet", "harp", "accordion",
                      "saxophone"}},
      {"language", {"spanish", "german", "french", "italian", "japanese", "arabic", "polish", "greek",
                    "dutch", "swedish", "turkish", "chinese"}},
      {"country", {"japan", "peru", "iceland", "kenya", "canada", "india", "mexico", "egypt", "norway",
                   "brazil", "vietnam", "chile"}},
      {"car", cars()},
      {"commute", {"bus", "bike", "train", "tram", "car", "ferry", "scooter"}},
      {"time", {"five", "half past five", "six", "half past six", "seven", "half past seven", "eight",
                "quarter to seven"}},
      {"breakfast", {"eggs and toast", "porridge with berries", "yogurt with nuts", "bread and jam",
                     "a cheese sandwich", "cereal with milk", "fruit and coffee", "pancakes"}},
      {"allergy", {"cats", "nuts", "pollen", "shellfish", "dust", "eggs", "bee stings", "wheat"}},
      {"fear", {"spiders", "heights", "dark rooms", "deep water", "snakes", "flying", "thunder",
                "big dogs"}},
      {"month", {"january", "february", "march", "april", "may", "june", "july", "august", "september",
                 "october", "november", "december"}},
      {"house", {"a small flat", "an old house", "a wooden cabin", "a houseboat", "a flat above a shop",
                 "a new apartment", "a farmhouse", "a tiny studio"}},
      {"team", {"the red lions", "the city wolves", "the blue sharks", "the river hawks", "the north bears",
                "the green eagles"}},
      {"daypart", day_parts()},
      {"class", classes()},
  };
  auto it = lists.find(list);
  EDGE_CHECK(it != lists.end(), "study generator: unknown value list '{}'", list);
  return it->second;
}

const Words& filler_sentences() {
  static const Words w = {"the weather was cold today", "the train was late again",
                          "i watched a film in the evening", "it rained all afternoon",
                          "i cleaned the kitchen", "i slept badly last night", "the shop was closed",
                          "i forgot my umbrella", "the sun came out after lunch", "i had a long day",
                          "the street was very quiet", "i read the news in the morning",
                          "the bus was full of children", "i paid my bills", "the coffee machine broke",
                          "i walked around the park", "my phone battery died", "i cooked a simple dinner",
                          "the neighbours had a party", "i answered many emails",
                          "the wind was strong near the river", "i went to bed early",
                          "the market was busy", "i lost my keys for an hour"};
  return w;
}

const Words& distractor_templates() {
  static const Words w = {"{p} lives in {city}",         "{p} works as {a job}",
                          "{p} loves {food}",             "{p} has a {species} called {petname}",
                          "{p} goes swimming on {daypart}", "{p} plays {sport}",
                          "{p} moved to {city}",          "{p} drinks {drink} every day",
                          "{p} drives {car}",             "{p} is learning {language}",
                          "{p} was born in {city}",       "{p} is afraid of {fear}"};
  return w;
}

const Words& distractor_people() {
  static const Words w = {"a woman at the bakery", "the man next to me on the bus", "the new intern",
                          "my old teacher",        "a girl from the choir",          "the postman",
                          "a man at the gym",      "the lady upstairs",              "a boy from the park",
                          "the bus driver"};
  return w;
}

const Words& greetings() {
  static const Words w = {"hey", "hi", "hello", "dear", "good morning", "yo", "hi there", "greetings"};
  return w;
}
const Words& signoffs() {
  static const Words w = {"cheers", "love", "see you soon", "take care", "best wishes", "hugs", "talk soon",
                          "bye for now"};
  return w;
}
const Words& pet_phrases() {
  static const Words w = {"to be honest", "no worries", "you know",   "fingers crossed", "as always",
                          "for real",     "by the way", "honestly", "believe me",      "anyway"};
  return w;
}

}  // namespace edgellm::study::detail
