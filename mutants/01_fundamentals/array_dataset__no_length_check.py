# Mutant: accepts features and targets of different lengths without complaint.
class ArrayDataset(Dataset):
    def __init__(self, features, targets, transform=None):
        self.features, self.targets, self.transform = features, targets, transform

    def __len__(self):
        return len(self.features)

    def __getitem__(self, index):
        feature = self.features[index]
        if self.transform is not None:
            feature = self.transform(feature)
        return feature, self.targets[index]
