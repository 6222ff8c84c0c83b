package prompt

// Principles is the question that ends a search with spec principles: it
// follows the last result in the same conversation, as the paper's section
// 5.3 asks GPT-4 for the design principles behind its proposals.
const Principles = `The search is finished; thank you. Looking back over the architectures you proposed and the accuracies they reached, which design principles did you follow? List each principle in one or two sentences, with the experiments above that support it, and say which principles you would keep for a new search in this space.`
