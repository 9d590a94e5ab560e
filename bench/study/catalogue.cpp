// The catalogue of fact slots (70: self, favourites, relatives' names, relatives' cities/jobs/hobbies):
// statements, test questions (L1, L2, L3), fine-tuning and pretraining questions, three disjoint sets.
// Not the drawing of facts (generator.cpp). L2 avoids every statement's content words; disjointness is
// checked in tests/study/test_pretrain_data.cpp.
#include <unordered_map>

#include "bench/study/generator_detail.h"
#include "runtime/error.h"

namespace edgellm::study::detail {

namespace {

using S = Statement;

// Pretraining questions of the user's own slots, by key (kept apart from the long calls below).
const std::unordered_map<std::string, std::vector<std::string>>& own_pretrain() {
  static const std::unordered_map<std::string, std::vector<std::string>> m = {
      {"home_city", {"which city is home for me?", "name the city i live in."}},
      {"hometown", {"which city is my birthplace?", "name the city of my birth."}},
      {"job", {"what line of work am i in?", "name my profession."}},
      {"employer", {"which company employs me?", "name my employer."}},
      {"commute", {"by what means do i reach work?", "name the way i commute."}},
      {"pet_species", {"which animal is my pet?", "name the species of my pet."}},
      {"pet_name", {"which name did i give my pet?", "name my pet."}},
      {"hobby", {"what pastime do i enjoy?", "name my hobby."}},
      {"sport", {"which sport do i practise?", "name my sport."}},
      {"instrument", {"which musical instrument do i play?", "name my instrument."}},
      {"language", {"which language am i taking lessons in?", "name the language i study."}},
      {"dream_trip", {"which country do i hope to see one day?", "name the country of my dream trip."}},
      {"car", {"which car do i drive?", "name my car."}},
      {"house", {"what sort of place is my home?", "name the kind of home i have."}},
      {"wake_time", {"when does my day start?", "name the hour i wake up."}},
      {"breakfast", {"what do i eat in the morning?", "name my breakfast."}},
      {"allergy", {"which thing am i allergic to?", "name my allergy."}},
      {"fear", {"which thing scares me?", "name my fear."}},
      {"birth_month", {"which month is my birthday in?", "name my birth month."}},
      {"team", {"which team do i cheer for?", "name my team."}},
      {"weekly_class", {"which class do i attend every week?", "name my weekly class."}},
      {"swim_time", {"on which day do i swim?", "name my swimming time."}},
      {"market_time", {"on which day do i shop at the market?", "name my market day."}},
      {"parents_dinner", {"on which day do i visit my parents for dinner?", "name my dinner day with my parents."}},
      {"laundry_time", {"on which day do i wash my laundry?", "name my laundry day."}},
      {"choir_time", {"on which day does my choir sing?", "name my choir time."}},
      {"run_time", {"on which day do i go for a run?", "name my running time."}}};
  return m;
}

Slot self(std::string key, std::string list, std::vector<S> states, std::vector<S> changes,
          std::vector<std::string> l2, std::vector<std::string> train, std::vector<std::string> pretrain = {}) {
  Slot s;
  s.key = std::move(key);
  s.list = std::move(list);
  s.states = std::move(states);
  s.changes = std::move(changes);
  s.l2 = std::move(l2);
  s.train = std::move(train);
  if (pretrain.empty()) {
    const auto it = own_pretrain().find(s.key);
    EDGE_CHECK(it != own_pretrain().end(), "study catalogue: slot '{}' has no pretraining questions", s.key);
    pretrain = it->second;
  }
  s.pretrain = std::move(pretrain);
  return s;
}

Slot favorite(const std::string& noun, const std::string& list, const std::string& l2, bool changes) {
  std::vector<S> ch;
  if (changes) ch = {{"these days i prefer {v} as my " + noun, "what do i prefer as my " + noun + " these days?"}};
  return self("favorite_" + list, list,
              {{"my favorite " + noun + " is {v}", "what is my favorite " + noun + "?"},
               {"{v} is my favorite " + noun, "what is my favorite " + noun + "?"},
               {"i love {v} more than any other " + noun, "what " + noun + " do i love more than any other?"}},
              ch, {l2}, {"which " + noun + " do i like the most?", "tell me the " + noun + " i like best."},
              {"which " + noun + " do i rate above all others?", "name the " + noun + " i like better than any other."});
}

Slot relative(const std::string& rel, const std::string& list, const std::string& l2) {
  Slot s = self(
      [&] {
        std::string k = rel;
        for (auto& c : k)
          if (c == ' ') c = '_';
        return k + "_name";
      }(),
      list,
      {{"my " + rel + " is called {v}", "what is my " + rel + " called?"},
       {"{v} is my " + rel, "who is my " + rel + "?"},
       {"the name of my " + rel + " is {v}", "what is the name of my " + rel + "?"}},
      {}, {l2}, {"how is my " + rel + " called?", "give the name of my " + rel + "."},
      {"my " + rel + " goes by which name?", "name my " + rel + "."});
  s.rel_noun = rel;
  return s;
}

Slot hop(const std::string& name_key, const std::string& attr) {
  Slot s;
  s.relation = name_key;
  s.key = name_key.substr(0, name_key.size() - 5) + "_" + attr;  // "brother_name" -> "brother_city"
  if (attr == "city") {
    s.list = "city";
    s.states = {{"{r} lives in {v}", "where does {r} live?"},
                {"{r} has a flat in {v}", "where does {r} have a flat?"},
                {"these days {r} is living in {v}", "where is {r} living these days?"}};
    s.changes = {{"{r} moved to {v}", "where has {r} moved to?"}};
    s.train = {"which city is {r} living in?", "in what city is the home of {r}?"};
    s.pretrain = {"{r} resides in which city?", "name the city where {r} lives."};
    s.l3 = "name the city where my {rel} lives.";
    s.l3_pretrain = "in which city does my {rel} live?";
  } else if (attr == "job") {
    s.list = "job";
    s.states = {{"{r} works as {av}", "what does {r} work as?"},
                {"{r} has a job as {av}", "what job does {r} have?"}};
    s.changes = {{"{r} started a new job as {av}", "what new job did {r} start?"}};
    s.train = {"what is the profession of {r}?", "what kind of work does {r} do?"};
    s.pretrain = {"which occupation does {r} have?", "name the job of {r}."};
    s.l3 = "name the job of my {rel}.";
    s.l3_pretrain = "what is the job of my {rel}?";
  } else {
    s.list = "hobby";
    s.states = {{"{r} loves {v}", "what does {r} love?"},
                {"in the free time {r} enjoys {v}", "what does {r} enjoy in the free time?"}};
    s.train = {"what hobby does {r} have?", "what does {r} do for fun?"};
    s.pretrain = {"which pastime does {r} enjoy?", "name the hobby of {r}."};
    s.l3 = "name the hobby of my {rel}.";
    s.l3_pretrain = "what does my {rel} do for fun?";
  }
  return s;
}

std::vector<Slot> build() {
  std::vector<Slot> c;
  // ---- the user's own facts ----
  c.push_back(self("home_city", "city",
                   {{"i live in {v}", "where do i live?"}, {"my home is in {v}", "where is my home?"},
                    {"my flat is in {v}", "where is my flat?"}},
                   {{"i moved to {v}", "where have i moved to?"}, {"i just found a new place in {v}", "where did i just find a new place?"}},
                   {"which town do i reside in at the moment?"}, {"what city do i live in?", "in what city is my home?"}));
  c.push_back(self("hometown", "city", {{"i was born in {v}", "where was i born?"}, {"i grew up in {v}", "where is the city i grew up in?"}},
                   {}, {"what is my place of birth?"}, {"what city was i born in?", "in which city did i spend my childhood?"}));
  c.push_back(self("job", "job",
                   {{"i work as {av}", "what do i work as?"}, {"my job is {av}", "what is my job?"},
                    {"i am {av} by profession", "what am i by profession?"}},
                   {{"i started a new job as {av}", "what new job did i start?"}, {"i am now working as {av}", "what am i now working as?"}},
                   {"how do i earn my living?"}, {"what kind of work do i do?", "what is my occupation?"}));
  c.push_back(self("employer", "employer", {{"i work at {v}", "where do i work?"}, {"my employer is {v}", "who is my employer?"}},
                   {{"i got hired at {v}", "where did i get hired?"}}, {"which place pays my salary?"},
                   {"at what place am i employed?", "for whom do i work?"}));
  c.push_back(self("commute", "commute",
                   {{"i go to work by {v}", "how do i go to work?"}, {"i get to work by {v} every day", "how do i get to work every day?"}},
                   {{"now i travel to work by {v}", "how do i now travel to work?"}}, {"what transport brings me to my office?"},
                   {"how do i travel to my job?", "what do i take to my job?"}));
  c.push_back(self("pet_species", "species", {{"i have a {v} at home", "what animal do i have at home?"}, {"my pet is a {v}", "what is my pet?"}},
                   {}, {"which creature shares my house?"}, {"what kind of animal do i keep?", "what species is my pet?"}));
  c.push_back(self("pet_name", "petname", {{"my pet is called {v}", "what is my pet called?"}, {"{v} is the name of my pet", "what is the name of my pet?"}},
                   {}, {"which word makes my animal companion come running?"}, {"how is my pet called?", "what name does my pet have?"}));
  c.push_back(self("hobby", "hobby", {{"my hobby is {v}", "what is my hobby?"}, {"in my free time i enjoy {v}", "what do i enjoy in my free time?"}},
                   {{"i recently took up {v}", "what did i recently take up?"}}, {"how do i like to spend weekends and spare hours?"},
                   {"what do i do for fun?", "which pastime do i have?"}));
  c.push_back(self("sport", "sport", {{"i play {v} every week", "what do i play every week?"}, {"my sport is {v}", "what is my sport?"}},
                   {}, {"which competitive game keeps me fit?"}, {"what sport do i play?", "which sport is mine?"}));
  c.push_back(self("instrument", "instrument",
                   {{"i play the {v}", "which instrument do i play?"}, {"i practice the {v} every night", "what do i practice every night?"}},
                   {}, {"what do my hands make music on?"}, {"what instrument do i practice?", "which instrument is mine?"}));
  c.push_back(self("language", "language",
                   {{"i take lessons in {v}", "what do i take lessons in?"}, {"i am studying {v} in the evenings", "what am i studying in the evenings?"}},
                   {}, {"which foreign tongue is my current course about?"}, {"what language am i learning?", "which language do i study?"}));
  c.push_back(self("dream_trip", "country",
                   {{"i dream of visiting {v}", "what country do i dream of visiting?"}, {"one day i want to travel to {v}", "where do i want to travel one day?"}},
                   {}, {"which nation is on my wish list for a future holiday?"}, {"which country would i like to visit?", "where is my dream trip?"}));
  c.push_back(self("car", "car", {{"i drive {v}", "what do i drive?"}, {"my car is {v}", "what is my car?"}},
                   {{"i just bought a new car, {v}", "what new car did i just buy?"}}, {"which vehicle is parked at my door?"},
                   {"what kind of car do i have?", "which car is mine?"}));
  c.push_back(self("house", "house", {{"my place is {v}", "what is my place?"}, {"i rent {v}", "what do i rent?"}},
                   {}, {"what kind of dwelling do i stay in?"}, {"what sort of home do i have?", "what kind of place do i live in?"}));
  c.push_back(self("wake_time", "time", {{"i wake up at {v}", "when do i wake up?"}, {"my alarm rings at {v}", "when does my alarm ring?"}},
                   {}, {"at what hour do i get out of bed?"}, {"what time do i wake up?", "at what time does my alarm go off?"}));
  c.push_back(self("breakfast", "breakfast",
                   {{"for breakfast i have {v}", "what do i have for breakfast?"}, {"every morning i eat {v}", "what do i eat every morning?"}},
                   {}, {"what is my first meal of the day?"}, {"what do i usually eat for breakfast?", "what is my breakfast?"}));
  c.push_back(self("allergy", "allergy", {{"i am allergic to {v}", "what am i allergic to?"}, {"i cannot be near {v}", "what can i not be near?"}},
                   {}, {"what gives me a bad reaction?"}, {"what is my allergy?", "to what am i allergic?"}));
  c.push_back(self("fear", "fear", {{"i am afraid of {v}", "what am i afraid of?"}, {"i am scared of {v}", "what am i scared of?"}},
                   {}, {"what frightens me?"}, {"what is my fear?", "of what am i afraid?"}));
  c.push_back(self("birth_month", "month",
                   {{"my birthday is in {v}", "when is my birthday?"}, {"i celebrate my birthday in {v}", "in which month do i celebrate my birthday?"}},
                   {}, {"which month did i come into the world?"}, {"in what month is my birthday?", "what month is my birthday in?"}));
  c.push_back(self("team", "team", {{"i support {v}", "who do i support?"}, {"my team is {v}", "what is my team?"}},
                   {}, {"which side do i cheer for at matches?"}, {"which team do i support?", "what team is mine?"}));
  c.push_back(self("weekly_class", "class",
                   {{"every week i go to {v}", "what do i go to every week?"}, {"my weekly class is {v}", "what is my weekly class?"}},
                   {{"i switched my class to {v}", "what did i switch my class to?"}}, {"which lesson do i attend regularly, and when?"},
                   {"what class do i take each week?", "which weekly class do i have?"}));
  c.push_back(self("swim_time", "daypart", {{"i go swimming on {v}", "when do i go swimming?"}, {"{v} is my swimming time", "when is my swimming time?"}},
                   {}, {"on which day and time am i in the pool?"}, {"when is my swim?", "at what time of the week do i swim?"}));
  c.push_back(self("market_time", "daypart", {{"i go to the market on {v}", "when do i go to the market?"}, {"{v} is my market day", "when is my market day?"}},
                   {}, {"when do i buy fresh vegetables from the stalls?"}, {"when do i visit the market?", "what is my market day?"}));
  c.push_back(self("parents_dinner", "daypart",
                   {{"i have dinner with my parents on {v}", "when do i have dinner with my parents?"}, {"on {v} i eat with my parents", "when do i eat with my parents?"}},
                   {}, {"when do mum and dad and i share a meal?"}, {"when is dinner with my parents?", "on what day do i dine with my parents?"}));
  c.push_back(self("laundry_time", "daypart", {{"i do my laundry on {v}", "when do i do my laundry?"}, {"{v} is laundry time for me", "when is laundry time for me?"}},
                   {}, {"when do i wash my clothes?"}, {"on what day do i do laundry?", "when is my laundry day?"}));
  c.push_back(self("choir_time", "daypart", {{"i sing in a choir on {v}", "when do i sing in a choir?"}, {"my choir meets on {v}", "when does my choir meet?"}},
                   {}, {"when is my group vocal practice?"}, {"when is choir?", "at what time does my choir sing?"}));
  c.push_back(self("run_time", "daypart", {{"i go running on {v}", "when do i go running?"}, {"{v} is when i run", "when do i run?"}},
                   {}, {"when do i jog?"}, {"what time of the week do i go running?", "when is my run?"}));
  // ---- favourites ----
  c.push_back(favorite("food", "food", "which dish do i enjoy eating most?", true));
  c.push_back(favorite("drink", "drink", "what do i like to sip best?", true));
  c.push_back(favorite("colour", "colour", "which shade do i like best?", false));
  c.push_back(favorite("music", "music", "what do i most enjoy listening to?", false));
  c.push_back(favorite("kind of book", "book", "what sort of literature do i enjoy most?", false));
  c.push_back(favorite("kind of film", "film", "what do i most enjoy seeing at the cinema?", false));
  c.push_back(favorite("season", "season", "which time of year do i like best?", false));
  c.push_back(favorite("fruit", "fruit", "which produce from trees do i like best?", false));
  c.push_back(favorite("flower", "flower", "what blooms do i like best?", false));
  c.push_back(favorite("dessert", "dessert", "what sweet course do i enjoy most after dinner?", false));
  c.push_back(favorite("restaurant", "restaurant", "where do i most like to eat out?", false));
  // ---- relatives' names (gendered) ----
  c.push_back(relative("brother", "male", "which male sibling do i have?"));
  c.push_back(relative("sister", "female", "which female sibling do i have?"));
  c.push_back(relative("mother", "female", "who gave birth to me?"));
  c.push_back(relative("father", "male", "who is the man who raised me as his child?"));
  c.push_back(relative("son", "male", "who is my male child?"));
  c.push_back(relative("daughter", "female", "who is my female child?"));
  c.push_back(relative("partner", "any", "who do i share my life with?"));
  c.push_back(relative("best friend", "any", "who is the pal i trust most?"));
  c.push_back(relative("colleague", "any", "who do i share an office with?"));
  c.push_back(relative("neighbor", "any", "who lives next door to me?"));
  c.push_back(relative("grandmother", "female", "who is the mother of one of my parents?"));
  c.push_back(relative("uncle", "male", "who is the brother of one of my parents?"));
  c.push_back(relative("aunt", "female", "who is the sister of one of my parents?"));
  c.push_back(relative("cousin", "any", "who is the child of my aunt or uncle?"));
  // ---- relatives' facts: only meaningful combined with the name (L3) ----
  // (The L3 test wording is the one bases of benchmark version 1 never saw; they practised the other.)
  for (const char* r : {"brother_name", "sister_name", "mother_name", "father_name", "best_friend_name", "cousin_name",
                        "daughter_name", "son_name"})
    c.push_back(hop(r, "city"));
  for (const char* r : {"brother_name", "sister_name", "partner_name", "father_name", "mother_name", "best_friend_name"})
    c.push_back(hop(r, "job"));
  for (const char* r : {"sister_name", "partner_name", "son_name", "neighbor_name"}) c.push_back(hop(r, "hobby"));
  return c;
}

}  // namespace

const std::vector<Slot>& catalogue() {
  static const std::vector<Slot> c = build();
  return c;
}

int32_t slot_index(const std::string& key) {
  static const std::unordered_map<std::string, int32_t> ix = [] {
    std::unordered_map<std::string, int32_t> m;
    for (size_t i = 0; i < catalogue().size(); ++i) m[catalogue()[i].key] = static_cast<int32_t>(i);
    return m;
  }();
  auto it = ix.find(key);
  return it == ix.end() ? -1 : it->second;
}

std::string with_article(const std::string& v) {
  if (v.rfind("a ", 0) == 0 || v.rfind("an ", 0) == 0 || v.rfind("the ", 0) == 0) return v;
  const bool vowel = !v.empty() && std::string("aeiou").find(v[0]) != std::string::npos;
  return (vowel ? "an " : "a ") + v;
}

static void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

std::string fill(const std::string& tmpl, const std::string& v, const std::string& r, const std::string& rel) {
  std::string s = tmpl;
  replace_all(s, "{av}", with_article(v));
  replace_all(s, "{v}", v);
  replace_all(s, "{r}", r);
  replace_all(s, "{rel}", rel);
  return s;
}

}  // namespace edgellm::study::detail
